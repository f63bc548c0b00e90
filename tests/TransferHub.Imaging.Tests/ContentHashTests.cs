namespace TransferHub.Imaging.Tests;

public sealed class ContentHashTests
{
    [Fact]
    public void TheAddressIsTheLowerCaseHexSha256OfTheBytes()
    {
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ContentHash.Of("abc"u8));
        Assert.True(ContentHash.IsSha256(ContentHash.Of([1, 2, 3])));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD")]
    [InlineData("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a")]
    [InlineData("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ag")]
    [InlineData("../../etc/passwd")]
    public void AnythingElseIsNotAContentAddress(string? value) => Assert.False(ContentHash.IsSha256(value));
}
