using TransferHub.Web.Features;
using TransferHub.Web.Features.Datasets;

namespace TransferHub.Web.Tests.Datasets;

/// <summary>The one rule for class names: NFC, surrounding whitespace removed and said so, case-sensitive.</summary>
public sealed class ClassNamesTests
{
    [Fact]
    public void DecomposedNamesBecomeComposedWithoutANote()
    {
        var (name, note) = ClassNames.Normalize("cafe\u0301");
        Assert.Equal("caf\u00E9", name);
        Assert.Null(note);
        Assert.Equal(("caf\u00E9", (string?)null), ClassNames.Normalize("caf\u00E9"));
        Assert.Equal("\uD55C", ClassNames.Normalize("\u1112\u1161\u11AB").Name); // Hangul jamo → one syllable
    }

    [Fact]
    public void SurroundingWhitespaceIsRemovedAndTheNoteSaysSo()
    {
        var (name, note) = ClassNames.Normalize("Cat ");
        Assert.Equal("Cat", name);
        Assert.Equal("\"Cat \" was read as class \"Cat\" (surrounding whitespace removed)", note);
        Assert.Equal("Big cat", ClassNames.Normalize("\u00A0 Big cat\t").Name);
        Assert.Equal("Big  cat", ClassNames.Normalize("Big  cat").Name); // inner spaces are part of the name
    }

    [Fact]
    public void NamesAreCaseSensitive()
    {
        Assert.Equal("a", ClassNames.Normalize("a").Name);
        Assert.Equal("A", ClassNames.Normalize("A").Name);
        Assert.False(ClassNames.Comparer.Equals("a", "A"));
        Assert.True(ClassNames.DifferOnlyByCase("x", "X"));
        Assert.False(ClassNames.DifferOnlyByCase("x", "x"));
        Assert.False(ClassNames.DifferOnlyByCase("x", "y"));
    }

    [Theory]
    [InlineData("", "needs a name")]
    [InlineData("   ", "needs a name")]
    [InlineData("B\uFFFDr", "U+FFFD")]
    [InlineData("two\nlines", "control characters")]
    public void UnusableNamesAreRefusedWithTheirReason(string raw, string reason)
    {
        Assert.Contains(reason, Assert.Throws<RuleViolationException>(() => ClassNames.Normalize(raw)).Message);
        Assert.Contains(reason, ClassNames.Read(raw).Error);
    }

    [Fact]
    public void TextThatIsNotValidUnicodeIsRefused()
    {
        var lone = "bad" + (char)0xD800; // built at run time: attribute strings cannot carry a lone surrogate
        Assert.Contains("unpaired surrogate", Assert.Throws<RuleViolationException>(() => ClassNames.Normalize(lone)).Message);
        Assert.Contains("unpaired surrogate", Assert.Throws<RuleViolationException>(() => ClassNames.Normalize((char)0xDC00 + "x")).Message);
    }

    [Fact]
    public void TheLengthLimitCountsTheNormalisedName()
    {
        Assert.Equal(100, ClassNames.Normalize(new string('e', 100)).Name.Length);
        Assert.Equal(100, ClassNames.Normalize(string.Concat(Enumerable.Repeat("e\u0301", 100))).Name.Length);
        Assert.Contains("at most 100", Assert.Throws<RuleViolationException>(() => ClassNames.Normalize(new string('e', 101))).Message);
    }

    [Fact]
    public void KeyMatchesStoredRowsByTheirNormalisedForm()
    {
        Assert.Equal("caf\u00E9", ClassNames.Key("cafe\u0301"));
        Assert.Equal("bad\uD800", ClassNames.Key("bad\uD800"));
    }
}
