using System.Buffers.Binary;
using System.Text;

namespace Graph.Bench;

/// <summary>
/// Marks one symbol-version requirement of an ELF64 shared library weak (<c>VER_FLG_WEAK</c> on its entry in
/// <c>.gnu.version_r</c>), so the dynamic loader accepts a libstdc++ that lacks that version.
/// </summary>
/// <remarks>
/// TorchSharp 0.107.0's <c>libLibTorchSharp.so</c> requires <c>GLIBCXX_3.4.32</c> (GCC 13's libstdc++) only for
/// <c>std::ios_base_library_init()</c>, a marker symbol that is never called; Debian 12 ships 3.4.30. The bench
/// patches the copy of the library in its own output folder (never the NuGet cache): the patched bytes are written
/// to a new file that is then renamed over the copy, so a hard link into the cache would be broken, not written through.
/// </remarks>
internal static class ElfVersionPatch
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    /// <summary>The result of <see cref="Ensure"/>.</summary>
    internal enum Outcome { Patched, AlreadyWeak, NotRequired }

    /// <summary>Makes <paramref name="version"/> a weak requirement of <paramref name="path"/> (idempotent).</summary>
    public static Outcome Ensure(string path, string version)
    {
        var bytes = File.ReadAllBytes(path);
        var offset = FindFlagsOffset(bytes, version);
        if (offset < 0) return Outcome.NotRequired;
        var flags = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(offset));
        if ((flags & VerFlgWeak) != 0) return Outcome.AlreadyWeak;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(offset), (ushort)(flags | VerFlgWeak));
        var temp = path + ".patching";
        File.WriteAllBytes(temp, bytes);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, File.GetUnixFileMode(path));
        File.Move(temp, path, overwrite: true);
        return Outcome.Patched;
    }

    /// <summary>Whether <paramref name="path"/> requires <paramref name="version"/> without the weak flag.</summary>
    public static bool NeedsPatch(string path, string version)
    {
        var bytes = File.ReadAllBytes(path);
        var offset = FindFlagsOffset(bytes, version);
        return offset >= 0 && (BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(offset)) & VerFlgWeak) == 0;
    }

    /// <summary>The file offset of the <c>vna_flags</c> field of the version's Vernaux entry, or -1.</summary>
    private static int FindFlagsOffset(byte[] elf, string version)
    {
        var span = elf.AsSpan();
        if (span.Length < 64 || span[0] != 0x7f || span[1] != (byte)'E' || span[2] != (byte)'L' || span[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (span[4] != 2 || span[5] != 1) throw new InvalidDataException("only little-endian ELF64 is supported");
        var shoff = (long)BinaryPrimitives.ReadUInt64LittleEndian(span[0x28..]);
        var shentsize = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3a..]);
        var shnum = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3c..]);
        (long Offset, long Size, uint Link, uint Info) Section(int i)
        {
            var s = elf.AsSpan((int)(shoff + (long)i * shentsize));
            return ((long)BinaryPrimitives.ReadUInt64LittleEndian(s[0x18..]), (long)BinaryPrimitives.ReadUInt64LittleEndian(s[0x20..]),
                BinaryPrimitives.ReadUInt32LittleEndian(s[0x28..]), BinaryPrimitives.ReadUInt32LittleEndian(s[0x2c..]));
        }
        for (var i = 0; i < shnum; i++)
        {
            var type = BinaryPrimitives.ReadUInt32LittleEndian(span[(int)(shoff + (long)i * shentsize + 4)..]);
            if (type != ShtGnuVerneed) continue;
            var (offset, _, link, count) = Section(i);
            var strtab = Section((int)link).Offset;
            string Name(uint at)
            {
                var start = (int)(strtab + at);
                var end = elf.AsSpan(start).IndexOf((byte)0);
                return Encoding.ASCII.GetString(elf, start, end);
            }
            var need = (int)offset;
            for (var n = 0; n < count; n++)
            {
                var cnt = BinaryPrimitives.ReadUInt16LittleEndian(span[(need + 2)..]);
                var aux = need + (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(need + 8)..]);
                for (var a = 0; a < cnt; a++)
                {
                    if (Name(BinaryPrimitives.ReadUInt32LittleEndian(span[(aux + 8)..])) == version) return aux + 4;
                    aux += (int)BinaryPrimitives.ReadUInt32LittleEndian(span[(aux + 12)..]);
                }
                var next = BinaryPrimitives.ReadUInt32LittleEndian(span[(need + 12)..]);
                if (next == 0) break;
                need += (int)next;
            }
        }
        return -1;
    }
}
