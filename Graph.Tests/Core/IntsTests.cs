using Graph.Core;

namespace Graph.Tests;

/// <summary>
/// The loops over dimensions and axes that replace LINQ over ints in the shape rules and graph building (so that
/// ReadyToRun compiles them): each against the LINQ expression it replaces, on ordinary and edge inputs.
/// </summary>
[TestFixture]
public class IntsTests
{
    private static readonly int[][] Arrays = [[], [0], [3], [2, -1, 2], [1, 1, 1], [-1, 0, 5, 5, -1], [7, 3, 3, 0, 2]];

    [Test]
    public void EachHelperEqualsTheLinqItReplaces()
    {
        Ints.Range(0).Should().BeEmpty();
        Ints.Range(4).Should().Equal(Enumerable.Range(0, 4));
        Ints.Repeat(-1, 3).Should().Equal(Enumerable.Repeat(-1, 3));
        Ints.Where(7, i => i % 3 != 1).Should().Equal(Enumerable.Range(0, 7).Where(i => i % 3 != 1));
        Ints.Where(0, _ => true).Should().BeEmpty();
        foreach (var a in Arrays)
        {
            Ints.Map(a, v => v * 2 + 1).Should().Equal(a.Select(v => v * 2 + 1));
            Ints.Map(a, (v, i) => v - i).Should().Equal(a.Select((v, i) => v - i));
            foreach (var value in new[] { -1, 0, 2, 5, 9 })
            {
                Ints.Count(a, value).Should().Be(a.Count(v => v == value));
                Ints.AnyBelow(a, value).Should().Be(a.Any(v => v < value));
                Ints.IndexOf(a, value).Should().Be(Array.IndexOf(a, value));
                Ints.Contains(a, value).Should().Be(a.Contains(value));
                Ints.Without(a, value).Should().Equal(a.Where(v => v != value));
                Ints.Prepend(value, a).Should().Equal(a.Prepend(value));
                Ints.Append(a, value).Should().Equal(a.Append(value));
            }
            Ints.Sum(a).Should().Be(a.Sum());
            for (var i = 0; i < a.Length; i++)
            {
                Ints.WithoutAt(a, i).Should().Equal(a.Where((_, j) => j != i));
                Ints.ReplaceAt(a, i, [8, 9]).Should().Equal(a[..i].Concat([8, 9]).Concat(a[(i + 1)..]));
                Ints.ReplaceAt(a, i, []).Should().Equal(a.Where((_, j) => j != i));
            }
            foreach (var b in Arrays)
            {
                Ints.Equal(a, b).Should().Be(a.SequenceEqual(b));
            }
        }
    }

    [Test]
    public void ASumThatOverflowsThrows()
    {
        var act = () => Ints.Sum([int.MaxValue, 1]);
        act.Should().Throw<OverflowException>();
    }

    /// <summary>Reduction axes come back normalised, sorted and without repeats, as LINQ's Distinct and Order gave them.</summary>
    [TestCase(new[] { -1, 0, 2, 0 }, 3, new[] { 0, 2 })]
    [TestCase(new[] { 2, 1, 0 }, 3, new[] { 0, 1, 2 })]
    [TestCase(new[] { -3, -2, 1 }, 3, new[] { 0, 1 })]
    [TestCase(new int[0], 2, new int[0])]
    public void AxesAreNormalisedSortedAndDistinct(int[] axes, int rank, int[] expected) =>
        OpRules.Axes("Sum", axes, rank).Should().Equal(expected);

    [Test]
    public void AxesOutOfRangeAreRefused()
    {
        var act = () => OpRules.Axes("Sum", [3], 3);
        act.Should().Throw<InvalidArgumentException>().WithMessage("*Sum*");
    }

    [Test]
    public void OrderingSortsByKeyBothWays()
    {
        string[] words = ["ccc", "a", "bb", "dddd"];
        Ordering.By(words, w => w.Length).Should().Equal("a", "bb", "ccc", "dddd");
        Ordering.By(words, w => w.Length, descending: true).Should().Equal("dddd", "ccc", "bb", "a");
    }
}
