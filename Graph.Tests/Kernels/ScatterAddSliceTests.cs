using Graph.Kernels.Cpu;

namespace Graph.Tests;

/// <summary>
/// Scatter-add of large slices (an RNN's input gradient receives a [batch, units] slice per gradient iteration) splits
/// each slice over the cores: every element must still be the first update copied in (or added to the target), then
/// the later updates to the same index added in order, as for small slices.
/// </summary>
[TestFixture]
public class ScatterAddSliceTests
{
    [Test]
    public void LargeSlicesAreCopiedAndAddedInOrder([Values(false, true)] bool tracked, [Values(20_000, 16_385, 100)] int inner)
    {
        var random = new Random(inner);
        float[] Values(int n) => Enumerable.Range(0, n).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray();
        var target = Values(4 * inner);
        var updates = Values(3 * inner);
        int[] indices = [2, 0, 2];
        var written = tracked ? new bool[4] : null;
        var expected = (float[])target.Clone();
        var seen = new bool[4];
        for (var j = 0; j < indices.Length; j++)
        {
            var i = indices[j];
            for (var e = 0; e < inner; e++)
                expected[i * inner + e] = tracked && !seen[i] ? updates[j * inner + e] : expected[i * inner + e] + updates[j * inner + e];
            seen[i] = true;
        }

        CpuMovement.ScatterAddInto(target, [4, inner], 0, updates, indices, written);

        if (tracked) written.Should().Equal(true, false, true, false);
        for (var e = 0; e < target.Length; e++)
            if (!tracked || e / inner is 0 or 2)
                BitConverter.SingleToInt32Bits(target[e]).Should().Be(BitConverter.SingleToInt32Bits(expected[e]), $"element {e % inner} of slice {e / inner}");
    }
}
