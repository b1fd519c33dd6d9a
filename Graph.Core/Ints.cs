namespace Graph.Core;

/// <summary>
/// Loops over int arrays (dimensions, axes, permutations) for the shape rules and graph building.
/// Why not LINQ: LINQ and the span helpers instantiated over <c>int</c> are framework generic code over a value type.
/// No ReadyToRun image holds them (the framework's holds only the instantiations it uses itself), so every process
/// JIT-compiled each one, fully optimised, on its way to the first training step (0.3–5 ms apiece on the thread that
/// builds the model). These are compiled ahead of time with Graph.Core; they use spans only through their indexer and
/// length (span methods such as CopyTo or Slice are framework code over int too).
/// </summary>
internal static class Ints
{
    /// <summary>0, 1, …, <paramref name="count"/> − 1.</summary>
    public static int[] Range(int count)
    {
        var result = new int[count];
        for (var i = 0; i < count; i++) result[i] = i;
        return result;
    }

    /// <summary>The indices below <paramref name="count"/> that satisfy <paramref name="keep"/>, in order.</summary>
    public static int[] Where(int count, Func<int, bool> keep)
    {
        var kept = new List<int>(count);
        for (var i = 0; i < count; i++)
            if (keep(i)) kept.Add(i);
        return kept.ToArray();
    }

    /// <summary><paramref name="count"/> copies of <paramref name="value"/>.</summary>
    public static int[] Repeat(int value, int count)
    {
        var result = new int[count];
        for (var i = 0; i < count; i++) result[i] = value;
        return result;
    }

    /// <summary>f(v) for each v, in order.</summary>
    public static int[] Map(ReadOnlySpan<int> values, Func<int, int> f)
    {
        var result = new int[values.Length];
        for (var i = 0; i < result.Length; i++) result[i] = f(values[i]);
        return result;
    }

    /// <summary>f(v, i) for each v at index i, in order.</summary>
    public static int[] Map(ReadOnlySpan<int> values, Func<int, int, int> f)
    {
        var result = new int[values.Length];
        for (var i = 0; i < result.Length; i++) result[i] = f(values[i], i);
        return result;
    }

    /// <summary>How many of <paramref name="values"/> equal <paramref name="value"/>.</summary>
    public static int Count(ReadOnlySpan<int> values, int value)
    {
        var n = 0;
        foreach (var v in values)
            if (v == value) n++;
        return n;
    }

    /// <summary>Whether any of <paramref name="values"/> is below <paramref name="bound"/>.</summary>
    public static bool AnyBelow(ReadOnlySpan<int> values, int bound)
    {
        foreach (var v in values)
            if (v < bound) return true;
        return false;
    }

    /// <summary>The index of the first <paramref name="value"/> in <paramref name="values"/>, or −1.</summary>
    public static int IndexOf(ReadOnlySpan<int> values, int value)
    {
        for (var i = 0; i < values.Length; i++)
            if (values[i] == value) return i;
        return -1;
    }

    /// <summary>Whether <paramref name="values"/> holds <paramref name="value"/>.</summary>
    public static bool Contains(ReadOnlySpan<int> values, int value) => IndexOf(values, value) >= 0;

    /// <summary>Whether <paramref name="a"/> and <paramref name="b"/> hold the same elements in the same order.</summary>
    public static bool Equal(ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        if (a.Length != b.Length) return false;
        for (var i = 0; i < a.Length; i++)
            if (a[i] != b[i]) return false;
        return true;
    }

    /// <summary>The sum of <paramref name="values"/> (checked).</summary>
    public static int Sum(ReadOnlySpan<int> values)
    {
        var sum = 0;
        foreach (var v in values) sum = checked(sum + v);
        return sum;
    }

    /// <summary><paramref name="values"/> without the elements equal to <paramref name="value"/>.</summary>
    public static int[] Without(ReadOnlySpan<int> values, int value)
    {
        var result = new int[values.Length - Count(values, value)];
        var k = 0;
        foreach (var v in values)
            if (v != value) result[k++] = v;
        return result;
    }

    /// <summary><paramref name="values"/> without the element at <paramref name="index"/>.</summary>
    public static int[] WithoutAt(ReadOnlySpan<int> values, int index)
    {
        var result = new int[values.Length - 1];
        for (int i = 0, k = 0; i < values.Length; i++)
            if (i != index) result[k++] = values[i];
        return result;
    }

    /// <summary><paramref name="values"/> with the element at <paramref name="index"/> replaced by all of <paramref name="with"/>.</summary>
    public static int[] ReplaceAt(ReadOnlySpan<int> values, int index, ReadOnlySpan<int> with)
    {
        var result = new int[values.Length - 1 + with.Length];
        var k = 0;
        for (var i = 0; i < index; i++) result[k++] = values[i];
        foreach (var v in with) result[k++] = v;
        for (var i = index + 1; i < values.Length; i++) result[k++] = values[i];
        return result;
    }

    /// <summary><paramref name="first"/>, then <paramref name="rest"/>.</summary>
    public static int[] Prepend(int first, ReadOnlySpan<int> rest)
    {
        var result = new int[rest.Length + 1];
        result[0] = first;
        for (var i = 0; i < rest.Length; i++) result[i + 1] = rest[i];
        return result;
    }

    /// <summary><paramref name="values"/>, then <paramref name="last"/>.</summary>
    public static int[] Append(ReadOnlySpan<int> values, int last)
    {
        var result = new int[values.Length + 1];
        for (var i = 0; i < values.Length; i++) result[i] = values[i];
        result[^1] = last;
        return result;
    }
}

/// <summary>
/// Sorting by an int key without LINQ's OrderBy, whose sorter over an int key is framework generic code no
/// ReadyToRun image holds (see <see cref="Ints"/>); the graph's orders sort by op ids and positions at every plan.
/// </summary>
internal static class Ordering
{
    /// <summary>
    /// <paramref name="items"/> in ascending (or descending) order of <paramref name="key"/>. Not stable: for keys
    /// that are unique, or equal only for the same item.
    /// </summary>
    public static List<T> By<T>(IEnumerable<T> items, Func<T, int> key, bool descending = false) where T : class
    {
        var list = new List<T>(items);
        if (descending) list.Sort((a, b) => key(b).CompareTo(key(a)));
        else list.Sort((a, b) => key(a).CompareTo(key(b)));
        return list;
    }
}
