using System.Runtime.InteropServices;
using HarfBuzzSharp;
using SkiaSharp;
using SkiaSharp.HarfBuzz;

namespace TransferHub.Web.Features.Reports.Pdf;

/// <summary>
/// Subsets of the TrueType fonts one document uses, so the PDF embeds the glyphs it draws rather than whole fonts.
/// SkiaSharp 4.155's PDF backend is built without a font subsetter: it embeds a TrueType font whole (DejaVu Sans and
/// its bold: about 0.75 MB of every report), while fonts it cannot embed as TrueType (the CFF outlines of Noto Sans
/// CJK, the colour bitmaps of Noto Color Emoji) go in as Type 3 fonts that hold only the glyphs used.
/// <para>The document is drawn twice (<see cref="ReportPdf.Render"/>): the first pass, onto a canvas that draws
/// nothing, records every glyph and character each face is asked for; then HarfBuzz's subsetter (hb-subset, in the
/// HarfBuzzSharp native library) cuts each TrueType face down to those glyphs, keeping glyph ids (so the shaped runs
/// stay valid) and the characters' cmap entries (so the PDF's text layer maps glyphs back to text); the second pass
/// draws with the subsets.</para>
/// </summary>
internal sealed class FontSubsets : IDisposable
{
    [ThreadStatic] private static FontSubsets? _current;

    private readonly Dictionary<SKTypeface, (HashSet<uint> Glyphs, HashSet<uint> CodePoints)> _used = [];
    private readonly Dictionary<SKTypeface, SKTypeface> _subsets = [];
    private bool _recording = true;

    private FontSubsets() { }

    /// <summary>The subsets of the document being drawn on this thread, if any.</summary>
    public static FontSubsets? Current => _current;

    /// <summary>Starts recording for one document on this thread; dispose to end.</summary>
    public static FontSubsets Begin() => _current = new FontSubsets();

    /// <summary>First pass: notes the glyphs and characters of a run.</summary>
    public void Record(SKTypeface face, IEnumerable<ushort> glyphs, string text)
    {
        if (!_recording)
            return;
        if (!_used.TryGetValue(face, out var used))
            _used[face] = used = ([], []);
        foreach (var glyph in glyphs)
            used.Glyphs.Add(glyph);
        foreach (var rune in text.EnumerateRunes())
            used.CodePoints.Add((uint)rune.Value);
    }

    /// <summary>Ends the first pass: makes a subset of every TrueType face used (a face that cannot be subset is
    /// drawn as it is).</summary>
    public void Build()
    {
        _recording = false;
        foreach (var (face, used) in _used)
            if (IsTrueType(face) && Subset(face, used.Glyphs, used.CodePoints) is { } subset)
                _subsets[face] = subset;
    }

    /// <summary>The face to draw with: the subset of <paramref name="face"/> once built, else the face itself.</summary>
    public SKTypeface Face(SKTypeface face) => _subsets.GetValueOrDefault(face) ?? face;

    public void Dispose()
    {
        if (_current == this)
            _current = null;
        foreach (var subset in _subsets.Values)
            subset.Dispose();
    }

    private static bool IsTrueType(SKTypeface face) => face.GetTableTags().Contains(Tag("glyf"));

    private static uint Tag(string name) => (uint)(name[0] << 24 | name[1] << 16 | name[2] << 8 | name[3]);

    private static SKTypeface? Subset(SKTypeface face, HashSet<uint> glyphs, HashSet<uint> codePoints)
    {
        using var stream = face.OpenStream(out var index);
        if (stream is null)
            return null;
        using var blob = stream.ToHarfBuzzBlob();
        using var hbFace = new Face(blob, index);
        var input = Native.hb_subset_input_create_or_fail();
        if (input == IntPtr.Zero)
            return null;
        try
        {
            Native.hb_subset_input_set_flags(input, Native.RetainGlyphIds);
            var glyphSet = Native.hb_subset_input_glyph_set(input);
            Native.hb_set_add(glyphSet, 0); // .notdef, which every font keeps
            foreach (var glyph in glyphs)
                Native.hb_set_add(glyphSet, glyph);
            var unicodeSet = Native.hb_subset_input_unicode_set(input);
            foreach (var codePoint in codePoints)
                Native.hb_set_add(unicodeSet, codePoint);
            var subsetFace = Native.hb_subset_or_fail(hbFace.Handle, input);
            if (subsetFace == IntPtr.Zero)
                return null;
            try
            {
                var subsetBlob = Native.hb_face_reference_blob(subsetFace);
                try
                {
                    var data = Native.hb_blob_get_data(subsetBlob, out var length);
                    if (data == IntPtr.Zero || length == 0)
                        return null;
                    var bytes = new byte[length];
                    Marshal.Copy(data, bytes, 0, (int)length);
                    return SKTypeface.FromData(SKData.CreateCopy(bytes));
                }
                finally
                {
                    Native.hb_blob_destroy(subsetBlob);
                }
            }
            finally
            {
                Native.hb_face_destroy(subsetFace);
            }
        }
        finally
        {
            Native.hb_subset_input_destroy(input);
        }
    }

    /// <summary>hb-subset, which HarfBuzzSharp's native library exports but its managed API does not wrap.</summary>
    private static class Native
    {
        private const string Library = "libHarfBuzzSharp";
        public const uint RetainGlyphIds = 0x2; // HB_SUBSET_FLAGS_RETAIN_GIDS

        [DllImport(Library)] public static extern IntPtr hb_subset_input_create_or_fail();
        [DllImport(Library)] public static extern void hb_subset_input_destroy(IntPtr input);
        [DllImport(Library)] public static extern void hb_subset_input_set_flags(IntPtr input, uint flags);
        [DllImport(Library)] public static extern IntPtr hb_subset_input_glyph_set(IntPtr input);
        [DllImport(Library)] public static extern IntPtr hb_subset_input_unicode_set(IntPtr input);
        [DllImport(Library)] public static extern void hb_set_add(IntPtr set, uint codepoint);
        [DllImport(Library)] public static extern IntPtr hb_subset_or_fail(IntPtr face, IntPtr input);
        [DllImport(Library)] public static extern IntPtr hb_face_reference_blob(IntPtr face);
        [DllImport(Library)] public static extern IntPtr hb_blob_get_data(IntPtr blob, out uint length);
        [DllImport(Library)] public static extern void hb_blob_destroy(IntPtr blob);
        [DllImport(Library)] public static extern void hb_face_destroy(IntPtr face);
    }
}
