using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using TransferHub.Web.Features.Datasets.Live;
using TransferHub.Web.Features.Instances;

namespace TransferHub.Web.Tests.Datasets.Live;

/// <summary>The presence tracker: who has which dataset open, per tab.</summary>
public sealed class DatasetPresenceTests
{
    private readonly DatasetPresence _presence = new(new InProcessLiveBus(), TimeProvider.System,
        new ApplicationLifetime(NullLogger<ApplicationLifetime>.Instance), NullLogger<DatasetPresence>.Instance);

    [Fact]
    public void AUserWithTwoTabsIsOneViewerAndStaysUntilTheLastTabLeaves()
    {
        var (tab1, tab2, other) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        _presence.Join(1, tab1, "u-ana", "ana@example.com");
        _presence.Join(1, tab2, "u-ana", "ana@example.com");
        _presence.Join(1, other, "u-bo", "Bo@example.com");
        _presence.Join(2, Guid.NewGuid(), "u-cy", "cy@example.com");

        Assert.Equal(["ana@example.com", "Bo@example.com"], _presence.ViewersOf(1).Select(v => v.Name));
        _presence.Leave(1, tab1);
        Assert.Equal(["u-ana", "u-bo"], _presence.ViewersOf(1).Select(v => v.UserId));
        _presence.Leave(1, tab2);
        Assert.Equal(["u-bo"], _presence.ViewersOf(1).Select(v => v.UserId));
        Assert.Equal(["u-cy"], _presence.ViewersOf(2).Select(v => v.UserId));
    }

    [Fact]
    public void DisposingTheJoinLeavesAndADroppedConnectionHidesTheTabUntilItComesBack()
    {
        var tab = Guid.NewGuid();
        var visit = _presence.Join(1, tab, "u-ana", "ana");

        _presence.SetConnected(tab, false);
        Assert.Empty(_presence.ViewersOf(1));
        _presence.SetConnected(tab, true);
        Assert.Single(_presence.ViewersOf(1));
        visit.Dispose();
        Assert.Empty(_presence.ViewersOf(1));
    }

    [Fact]
    public async Task WatchersOfADatasetAreToldOfJoinsAndLeavesUntilTheyStopWatching()
    {
        var calls = 0;
        var told = new SemaphoreSlim(0);
        var watch = _presence.Watch(1, () => { Interlocked.Increment(ref calls); told.Release(); return Task.CompletedTask; });

        var tab = Guid.NewGuid();
        _presence.Join(1, tab, "u-ana", "ana");
        _presence.Join(2, Guid.NewGuid(), "u-bo", "bo"); // another dataset: not told
        _presence.Leave(1, tab);
        Assert.True(await told.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(await told.WaitAsync(TimeSpan.FromSeconds(5)));
        watch.Dispose();
        _presence.Join(1, tab, "u-ana", "ana");

        Assert.False(await told.WaitAsync(TimeSpan.FromMilliseconds(200)));
        Assert.Equal(2, calls);
    }
}
