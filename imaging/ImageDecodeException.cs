namespace TransferHub.Imaging;

/// <summary>An image could not be accepted; <see cref="Reason"/> says why in words a user understands.</summary>
public sealed class ImageDecodeException(string imageName, string reason) : Exception($"{imageName}: {reason}")
{
    public string ImageName { get; } = imageName;
    public string Reason { get; } = reason;
}
