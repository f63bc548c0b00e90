using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>Live run updates are keyed like dataset events: a run page hears its run, a Runs page its project, and
/// nobody else's; a broken page does not stop the others.</summary>
public sealed class JobNotifierTests(WebAppFactory app) : IClassFixture<WebAppFactory>
{
    [Fact]
    public async Task ARunPageHearsItsRunAndARunsPageEveryRunOfItsProjectOnly()
    {
        var s = await TeamScenario.CreateAsync(app);
        var other = await TeamScenario.CreateAsync(app);
        using var services = new ServiceScope(app);
        var dataset = await services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Birds");
        var otherDataset = await services.Datasets.CreateAsync(other.EditorId, other.ProjectId, "Fish");
        var notifier = app.Services.GetRequiredService<JobNotifier>();
        var runPage = new ConcurrentQueue<int>();
        var runsPage = new ConcurrentQueue<int>();
        var everyProjectUpdate = new SemaphoreSlim(0);

        using (notifier.SubscribeRun(101, u => { runPage.Enqueue(u.JobId); return Task.CompletedTask; }))
        using (notifier.SubscribeProject(s.ProjectId, u => { runsPage.Enqueue(u.JobId); everyProjectUpdate.Release(); return Task.CompletedTask; }))
        using (notifier.SubscribeProject(s.ProjectId, _ => throw new InvalidOperationException("a closed circuit")))
        {
            Assert.Equal((1, 2), notifier.SubscriberCount(101, s.ProjectId));
            notifier.Publish(new JobUpdate(101, dataset, JobStatus.Running));
            notifier.Publish(new JobUpdate(102, dataset, JobStatus.Queued));
            notifier.Publish(new JobUpdate(101, otherDataset, JobStatus.Running)); // run ids are global; this one is not in the project
            Assert.True(await everyProjectUpdate.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.True(await everyProjectUpdate.WaitAsync(TimeSpan.FromSeconds(10)));
            await Task.Delay(200); // give a wrong delivery the time to show up

            Assert.Equal([101, 101], runPage.Order());
            Assert.Equal([101, 102], runsPage.Order());
        }

        Assert.Equal((0, 0), notifier.SubscriberCount(101, s.ProjectId));
        notifier.Publish(new JobUpdate(101, dataset, JobStatus.Completed));
        await Task.Delay(200);
        Assert.Equal(2, runPage.Count);
    }
}
