using System.Reflection;

namespace Graph.Core;

/// <summary>
/// Finds the <see cref="OpDef"/> of an op type by name, for reading saved graphs. Op definitions are singletons held
/// in static fields (<c>MatMulDef.MatMul</c>, <c>TF.TanhDef</c>, …) of Graph.Core and of any assembly that defines
/// ops (Graph.Rnn's <c>CheckSequenceLength</c>); the registry collects them from every loaded assembly that
/// references Graph.Core, so a new op is found without being listed anywhere.
/// </summary>
internal static class OpRegistry
{
    private static readonly object Gate = new();
    private static readonly Dictionary<string, OpDef> ByType = new(StringComparer.Ordinal);
    private static readonly HashSet<Assembly> Scanned = new();
    private static readonly Dictionary<string, List<string>> Ambiguous = new(StringComparer.Ordinal);

    /// <summary>The assembly whose static fields define <paramref name="def"/>, by simple name (written into saved graphs).</summary>
    public static string LibraryOf(OpDef def) => def.GetType().Assembly.GetName().Name!;

    /// <summary>
    /// The definition of op type <paramref name="type"/>, loading <paramref name="libraries"/> (assembly names a saved
    /// graph lists) first; null when no loaded assembly defines it.
    /// </summary>
    public static OpDef? Find(string type, IEnumerable<string> libraries)
    {
        lock (Gate)
        {
            ScanLoaded();
            if (ByType.TryGetValue(type, out var def)) return Unambiguous(type, def);
            foreach (var name in libraries)
            {
                if (AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == name)) continue;
                try
                {
                    Scan(Assembly.Load(new AssemblyName(name)));
                }
                catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException)
                {
                    // The caller reports the op type as unknown, naming the libraries the file lists.
                }
            }
            return ByType.TryGetValue(type, out def) ? Unambiguous(type, def) : null;
        }
    }

    private static OpDef Unambiguous(string type, OpDef def) =>
        Ambiguous.TryGetValue(type, out var places)
            ? throw new InvalidArgumentException($"Op type '{type}' is defined more than once ({string.Join(", ", places)}); a saved graph cannot tell which is meant.")
            : def;

    private static void ScanLoaded()
    {
        foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies()) Scan(assembly);
    }

    private static void Scan(Assembly assembly)
    {
        if (!Scanned.Add(assembly)) return;
        var core = typeof(OpDef).Assembly;
        if (assembly != core && assembly.GetReferencedAssemblies().All(r => r.Name != core.GetName().Name)) return;
        Type[] types;
        try
        {
            types = assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            types = e.Types.OfType<Type>().ToArray();
        }
        foreach (var type in types)
        {
            if (type.ContainsGenericParameters) continue;
            foreach (var field in type.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (!typeof(OpDef).IsAssignableFrom(field.FieldType)) continue;
                object? value;
                try
                {
                    value = field.GetValue(null);
                }
                catch (TypeInitializationException)
                {
                    continue; // a type that cannot initialise defines no usable op
                }
                if (value is not OpDef def) continue;
                if (ByType.TryAdd(def.Type, def) || ReferenceEquals(ByType[def.Type], def)) continue;
                if (!Ambiguous.TryGetValue(def.Type, out var places))
                    Ambiguous[def.Type] = places = [ByType[def.Type].GetType().FullName!];
                places.Add($"{type.FullName}.{field.Name}");
            }
        }
    }
}
