using TorchSharp;

namespace TransferHub.Worker.Tests;

public class TorchInitializationTests
{
    [Fact]
    public void TorchInitialisesAndComputesOnThisMachine()
    {
        // Fails with "doesn't contain a reference to libtorch-cpu-linux-x64" when the build did not mark
        // libLibTorchSharp.so's GLIBCXX_3.4.32 requirement weak on a Debian 12 libstdc++.
        using var a = torch.tensor(new float[] { 1, 2, 3 });
        using var b = torch.tensor(new float[] { 4, 5, 6 });
        using var dot = torch.dot(a, b);
        Assert.Equal(32f, dot.item<float>());
        Assert.StartsWith("2.", torch.__version__);
    }
}
