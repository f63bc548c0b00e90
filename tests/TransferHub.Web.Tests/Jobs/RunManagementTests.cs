using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Web.Features;
using TransferHub.Web.Features.Comparison;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>Experiment management: per-project run numbers, names, notes, tags and stars (the rules, who may change
/// them), the Runs table's filters and order, and why a queued run waits.</summary>
public sealed class RunManagementTests(RunManagementTests.WithoutScheduler app) : IClassFixture<RunManagementTests.WithoutScheduler>, IDisposable
{
    /// <summary>The app without its job scheduler: runs stay where a test puts them (the scheduler would follow runs
    /// written as running on a worker that does not exist, and end them within a second).</summary>
    public sealed class WithoutScheduler : WebAppFactory
    {
        protected override void ConfigureWebHost(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.ConfigureServices(services =>
            {
                var scheduler = services.Single(d => d.ServiceType == typeof(Microsoft.Extensions.Hosting.IHostedService)
                    && d.ImplementationFactory?.Method.DeclaringType?.FullName?.StartsWith(typeof(JobsExtensions).FullName!, StringComparison.Ordinal) == true);
                services.Remove(scheduler);
            });
        }
    }

    private readonly ServiceScope _services = new(app);

    public void Dispose() => _services.Dispose();

    private T Service<T>() where T : notnull => app.Services.CreateScope().ServiceProvider.GetRequiredService<T>();

    private static JobSettings Quick(int repeats = 1) => new()
    {
        Backbone = "resnet18x3-imagenet", Mode = TrainingMode.FeatureExtraction, Epochs = 3, EarlyStoppingPatience = 0, ImageSize = 64,
        Seed = 10, Repeats = repeats,
    };

    private async Task<int> DatasetAsync(TeamScenario s, int projectId)
    {
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, projectId, $"Shoes {Guid.NewGuid():N}"[..14]);
        var entries = new List<(string, byte[])>();
        foreach (var cls in new[] { "bag", "sandal" })
            entries.AddRange(TestFiles.FashionEntries(cls, 6, cls).Select((f, i) => ((i < 4 ? "train/" : i < 5 ? "val/" : "test/") + f.Path, f.Data)));
        await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(entries));
        return datasetId;
    }

    private async Task<TrainingJob> JobAsync(int id)
    {
        await using var db = await app.DbAsync();
        return await db.Jobs.AsNoTracking().FirstAsync(j => j.Id == id);
    }

    [Fact]
    public async Task RunsAreNumberedOneTwoThreeInEachProjectWhateverTheirGlobalIds()
    {
        var s = await TeamScenario.CreateAsync(app);
        var otherProject = await _services.Projects.CreateAsync(s.OwnerId, s.TeamId, "Other", "");
        var shoes = await DatasetAsync(s, s.ProjectId);
        var shoes2 = await DatasetAsync(s, s.ProjectId);
        var other = await DatasetAsync(s, otherProject);
        var jobs = Service<JobService>();

        var first = await jobs.LaunchAsync(s.EditorId, shoes, Quick(repeats: 2));
        var elsewhere = await jobs.LaunchAsync(s.EditorId, other, Quick());
        var third = await jobs.LaunchAsync(s.EditorId, shoes2, Quick());
        // Runs written without the launcher (as tests and the ensemble do) are numbered on save too.
        var stored = await StoredRuns.CompletedAsync(app, shoes, 3, [(0, 0.9f), (1, 0.8f)]);
        var stored2 = await StoredRuns.CompletedAsync(app, shoes, 4, [(0, 0.7f), (1, 0.6f)]);
        var ensemble = await Service<ComparisonService>().EnsembleAsync(s.EditorId, s.ProjectId, [stored, stored2]);

        Assert.Equal([1, 2], (await Task.WhenAll(first.Select(JobAsync))).Select(j => j.Number));
        Assert.Equal(1, (await JobAsync(elsewhere[0])).Number);
        Assert.Equal(3, (await JobAsync(third[0])).Number);
        Assert.Equal([4, 5, 6], (await Task.WhenAll(new[] { stored, stored2, ensemble }.Select(JobAsync))).Select(j => j.Number));
        Assert.True(elsewhere[0] > first[1], "the other project's run has a higher global id but is #1 there");
        var listed = await jobs.ListAsync(s.ViewerId, s.ProjectId);
        Assert.Equal(["Ensemble #6", "Run #5", "Run #4", "Run #3", "Run #2", "Run #1"], listed.Select(r => r.Title));
        var details = await jobs.GetAsync(s.ViewerId, ensemble);
        Assert.Equal(new Dictionary<int, int> { [stored] = 4, [stored2] = 5 }, details!.MemberNumbers);
    }

    [Fact]
    public async Task LaunchesAtTheSameTimeGetDistinctNumbers()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await DatasetAsync(s, s.ProjectId);

        var launched = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Service<JobService>().LaunchAsync(s.EditorId, datasetId, Quick())));

        var numbers = (await Task.WhenAll(launched.Select(l => JobAsync(l[0])))).Select(j => j.Number).Order();
        Assert.Equal([1, 2, 3, 4, 5, 6], numbers);
    }

    [Fact]
    public async Task NamesNotesAndTagsAreTrimmedCheckedAndStoredAndAnEmptyValueClearsThem()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await DatasetAsync(s, s.ProjectId);
        var jobs = Service<JobService>();
        var ids = await jobs.LaunchAsync(s.EditorId, datasetId, Quick(repeats: 2));

        var run = await jobs.UpdateLabelsAsync(s.EditorId, ids[0], new RunLabelsChange
        {
            Name = "  ResNet baseline ", Notes = "  frozen, 64 px\nfirst try  ", Tags = [" baseline ", "64   px"], Pinned = true,
        });
        Assert.Equal(("ResNet baseline", "frozen, 64 px\nfirst try", true), (run.Name, run.Notes, run.Pinned));
        Assert.Equal(["baseline", "64 px"], run.Tags);
        Assert.Equal("Run #1 · ResNet baseline", run.DisplayName);

        // Only what is given changes.
        run = await jobs.UpdateLabelsAsync(s.EditorId, ids[0], new RunLabelsChange { Pinned = false });
        Assert.Equal(("ResNet baseline", false), (run.Name, run.Pinned));
        Assert.Equal(2, run.Tags.Count);

        // Limits, each with a message saying what is wrong.
        var tooLong = await Assert.ThrowsAsync<InvalidInputException>(() =>
            jobs.UpdateLabelsAsync(s.EditorId, ids[0], new RunLabelsChange { Name = new string('x', TrainingJob.NameMaxLength + 1) }));
        Assert.Equal("name", Assert.Single(tooLong.Problems).Field);
        Assert.Contains("at most 100 characters (this one has 101)", tooLong.Message);
        var tags = await Assert.ThrowsAsync<InvalidInputException>(() => jobs.UpdateLabelsAsync(s.EditorId, ids[0],
            new RunLabelsChange { Tags = ["Baseline", "baseline", "a,b", new string('t', RunLabels.TagMaxLength + 1), "  "] }));
        Assert.All(tags.Problems, p => Assert.Equal("tags", p.Field));
        Assert.Contains("\"baseline\" is given twice", tags.Message);
        Assert.Contains("contains a comma", tags.Message);
        Assert.Contains("longer than 32 characters", tags.Message);
        Assert.Contains("cannot be empty", tags.Message);
        var many = await Assert.ThrowsAsync<InvalidInputException>(() => jobs.UpdateLabelsAsync(s.EditorId, ids[0],
            new RunLabelsChange { Tags = [.. Enumerable.Range(1, RunLabels.MaxTags + 1).Select(i => $"t{i}")] }));
        Assert.Contains("at most 10 tags (11 given)", many.Message);
        var notes = await Assert.ThrowsAsync<InvalidInputException>(() =>
            jobs.UpdateLabelsAsync(s.EditorId, ids[0], new RunLabelsChange { Notes = new string('n', TrainingJob.NotesMaxLength + 1) }));
        Assert.Equal("notes", Assert.Single(notes.Problems).Field);
        var control = await Assert.ThrowsAsync<InvalidInputException>(() => jobs.UpdateLabelsAsync(s.EditorId, ids[0], new RunLabelsChange { Name = "two\nlines" }));
        Assert.Contains("control characters", control.Message);

        // A name is unique in the project, ignoring case; the refusal names the run that has it.
        var taken = await Assert.ThrowsAsync<RuleViolationException>(() =>
            jobs.UpdateLabelsAsync(s.EditorId, ids[1], new RunLabelsChange { Name = "resnet BASELINE" }));
        Assert.Equal("Run #1 of this project is already called \"resnet BASELINE\": choose another name.", taken.Message);
        // Refused changes changed nothing.
        var stored = await JobAsync(ids[0]);
        Assert.Equal(("ResNet baseline", "[\"baseline\",\"64 px\"]"), (stored.Name, stored.TagsJson));

        // Empty values clear.
        run = await jobs.UpdateLabelsAsync(s.EditorId, ids[0], new RunLabelsChange { Name = "  ", Notes = "", Tags = [] });
        Assert.Equal((null, null, 0), (run.Name, run.Notes, run.Tags.Count));
        Assert.Null((await JobAsync(ids[0])).TagsJson);
        // …and the name is free again.
        Assert.Equal("ResNet baseline", (await jobs.UpdateLabelsAsync(s.EditorId, ids[1], new RunLabelsChange { Name = "ResNet baseline" })).Name);
    }

    [Fact]
    public async Task EditorsAndOwnersRenameTagAndStarViewersOnlySeeOutsidersSeeNothing()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await DatasetAsync(s, s.ProjectId);
        var jobs = Service<JobService>();
        var id = (await jobs.LaunchAsync(s.EditorId, datasetId, Quick()))[0];

        await Assert.ThrowsAsync<ForbiddenException>(() => jobs.UpdateLabelsAsync(s.ViewerId, id, new RunLabelsChange { Pinned = true }));
        await Assert.ThrowsAsync<NotFoundException>(() => jobs.UpdateLabelsAsync(s.OutsiderId, id, new RunLabelsChange { Name = "mine" }));
        Assert.False((await JobAsync(id)).Pinned);

        await jobs.UpdateLabelsAsync(s.OwnerId, id, new RunLabelsChange { Pinned = true, Tags = ["best"] });
        var seen = await jobs.SummaryAsync(s.ViewerId, id);
        Assert.True(seen!.Pinned);
        Assert.Equal(["best"], seen.Tags);
    }

    [Fact]
    public async Task AQueuedRunSaysItsPlaceInTheQueueAndWhichWorkerIsBusyWithWhichRun()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await DatasetAsync(s, s.ProjectId);
        var jobs = Service<JobService>();
        // A worker offering the backbone, busy with a run of this project and one of a team the caller is not in (it has
        // been disabled since: it finishes those but takes no new run).
        var outsiderProject = await _services.Projects.CreateAsync(s.OutsiderId, s.OutsiderTeamId, "Theirs", "");
        var theirDataset = await _services.Datasets.CreateAsync(s.OutsiderId, outsiderProject, "Their data");
        var ours = await StoredRuns.CompletedAsync(app, datasetId, 1, [(0, 0.9f)]);
        var theirs = await StoredRuns.CompletedAsync(app, theirDataset, 1, [(0, 0.9f)]);
        var workerName = $"gpu-{s.Tag}";
        await using (var db = await app.DbAsync())
        {
            var worker = new WorkerNode
            {
                Name = workerName, Address = "http://127.0.0.1:9", TokenHint = "cdef",
                // Disabled: neither the health monitor nor the scheduler contacts it, so its state stays as written.
                Enabled = false,
                // A real token: the scheduler re-attaches to the busy runs and needs several seconds of failed tries
                // (Jobs:ReattachAttempts × ReattachDelaySeconds) before it calls them lost; this test reads long before.
                ProtectedToken = app.Service<Features.Workers.Gateway.WorkerTokens>().Protect("0123456789abcdef"), Status = WorkerStatus.Online,
                Capacity = 2, Backbones = "resnet18x3-imagenet,mobilenet_v2", CreatedAt = DateTime.UtcNow,
            };
            db.Workers.Add(worker);
            await db.SaveChangesAsync();
            await db.Jobs.Where(j => j.Id == ours || j.Id == theirs)
                .ExecuteUpdateAsync(u => u.SetProperty(j => j.Status, JobStatus.Running).SetProperty(j => j.WorkerId, worker.Id).SetProperty(j => j.WorkerName, workerName));
        }
        var queued = await jobs.LaunchAsync(s.EditorId, datasetId, Quick(repeats: 2));

        var first = await jobs.WaitAsync(s.ViewerId, queued[0]);
        var second = await jobs.WaitAsync(s.ViewerId, queued[1]);

        Assert.NotNull(first);
        Assert.Equal(first.Position + 1, second!.Position);
        Assert.True(second.Queued >= 2);
        var busy = Assert.Single(second.Workers, w => w.Worker == workerName);
        Assert.Equal("disabled", busy.State);
        Assert.Equal([(ours, "Run #1"), (null, "a run of another team")], busy.Busy.Select(b => (b.Id, b.Label)).ToList());
        Assert.Equal("No worker offering resnet18x3-imagenet takes new runs now (offline, disabled or draining): it starts when one does.", second.Reason);
        var listed = await jobs.ListAsync(s.ViewerId, s.ProjectId);
        Assert.Equal(second.Position, listed.Single(r => r.Id == queued[1]).QueuePosition);
        Assert.Null(listed.Single(r => r.Id == ours).QueuePosition);

        // Not queued, or not the caller's: nothing to say.
        Assert.Null(await jobs.WaitAsync(s.ViewerId, ours));
        Assert.Null(await jobs.WaitAsync(s.OutsiderId, queued[0]));
    }

    private static RunSummary Run(int number, JobStatus status = JobStatus.Completed, TrainingMode mode = TrainingMode.FeatureExtraction,
        string backbone = "resnet18x3-imagenet", double? accuracy = null, string? name = null, string[]? tags = null, bool pinned = false,
        JobKind kind = JobKind.Training) =>
        new(number + 100, 1, "d", kind, status, backbone, mode, 1, null, "v", 3, 3, accuracy, accuracy, accuracy, accuracy, 1, 10, 5,
            null, null, DateTime.UtcNow, null, null, "test")
        { Number = number, Name = name, Tags = tags ?? [], Pinned = pinned };

    [Fact]
    public void TheRunsTableFiltersByStatusModeBackboneTagAccuracyAndTextAndSortsWithMissingValuesLast()
    {
        RunSummary[] runs =
        [
            Run(1, accuracy: 0.80, tags: ["baseline"]),
            Run(2, mode: TrainingMode.FineTune, accuracy: 0.93, name: "Fine 224", tags: ["Best"]),
            Run(3, status: JobStatus.Failed, mode: TrainingMode.FineTune, backbone: "mobilenet_v2"),
            Run(4, status: JobStatus.Running, mode: TrainingMode.Auto),
            Run(5, accuracy: 0.90, pinned: true, kind: JobKind.Ensemble),
            Run(6, status: JobStatus.Diverged, accuracy: null),
        ];
        int[] Numbers(RunQuery q) => [.. q.Apply(runs).Select(r => r.Number)];

        // Default: starred first, then newest.
        Assert.Equal([5, 6, 4, 3, 2, 1], Numbers(new RunQuery()));
        Assert.Equal([1, 2, 3, 4, 5, 6], Numbers(new RunQuery { Descending = false }));
        Assert.Equal([1, 2, 5], Numbers(new RunQuery { Status = "completed", Descending = false }));
        Assert.Equal([3, 6], Numbers(new RunQuery { Status = "failed", Descending = false }));
        Assert.Equal([4], Numbers(new RunQuery { Status = "active" }));
        Assert.Equal([3, 2], Numbers(new RunQuery { Mode = "fine-tune" }));
        Assert.Equal([5], Numbers(new RunQuery { Mode = "ensemble" }));
        Assert.Equal([3], Numbers(new RunQuery { Backbone = "mobilenet_v2" }));
        Assert.Equal([2], Numbers(new RunQuery { Tag = "best" }));
        Assert.Equal([5, 2], Numbers(new RunQuery { MinAccuracy = 90 }));
        Assert.Equal([5], Numbers(new RunQuery { StarredOnly = true }));
        Assert.Equal([2], Numbers(new RunQuery { Text = "fine" }));
        Assert.Equal([1], Numbers(new RunQuery { Text = "BASE" }));
        Assert.Equal([3], Numbers(new RunQuery { Text = "#3" }));
        // By accuracy: highest first, runs without one last (either direction).
        Assert.Equal([2, 5, 1, 6, 4, 3], Numbers(new RunQuery { Sort = "accuracy" }));
        Assert.Equal([1, 5, 2, 3, 4, 6], Numbers(new RunQuery { Sort = "accuracy", Descending = false }));
        Assert.Equal([2, 1, 3, 4, 5, 6], Numbers(new RunQuery { Sort = "name", Descending = false }));
    }

    /// <summary>QA 2026-11-30: a run that diverged at 41 % after an 80 % epoch showed "Best val 80.0 %" like a result and
    /// sorted above kept models.</summary>
    [Fact]
    public void ABestValidationAccuracyWithoutAKeptModelSaysWhyAndSortsAfterRunsThatKeptOne()
    {
        RunSummary[] runs =
        [
            Run(1, accuracy: 0.80),
            Run(2, status: JobStatus.Diverged) with { BestValAccuracy = 0.95 },
            Run(3, accuracy: 0.90),
            Run(4, status: JobStatus.Failed) with { BestValAccuracy = 0.85 },
            Run(5, mode: TrainingMode.Auto) with { BestValAccuracy = null },   // kept a model; chose by cross-validation, no epochs
        ];

        // Kept models first (with a value, then without: QA saw the diverged run sorted between two kept auto runs), the
        // runs that kept none last in either direction.
        Assert.Equal([3, 1, 5, 2, 4], new RunQuery { Sort = "bestval" }.Apply(runs).Select(r => r.Number));
        Assert.Equal([1, 3, 5, 4, 2], new RunQuery { Sort = "bestval", Descending = false }.Apply(runs).Select(r => r.Number));
        Assert.Null(runs[0].BestValNote);
        Assert.Equal("The best validation accuracy before the run diverged; it kept no model.", runs[1].BestValNote);
        Assert.Contains("before the run failed", runs[3].BestValNote);
        Assert.Null(Run(5, status: JobStatus.Running).BestValNote);   // still going: its best so far is what it is
    }

    [Fact]
    public void TheRunsTableViewRoundTripsThroughTheQueryStringAndIgnoresWhatItDoesNotKnow()
    {
        var view = new RunQuery { Status = "completed", Mode = "fine-tune", Backbone = "resnet18x3-imagenet", Tag = "best", MinAccuracy = 92.5,
            Text = "224", StarredOnly = true, Sort = "accuracy", Descending = false };
        var q = view.ToQuery();
        var back = RunQuery.From((string?)q["status"], (string?)q["mode"], (string?)q["backbone"], (string?)q["tag"], (string?)q["minacc"],
            (string?)q["q"], (string?)q["starred"], (string?)q["sort"], (string?)q["dir"]);
        Assert.Equal(view, back);
        Assert.All(new RunQuery().ToQuery().Values, Assert.Null);

        var odd = RunQuery.From("sleeping", "magic", " ", null, "150", null, "yes", "colour", "sideways");
        Assert.Equal(new RunQuery(), odd);
    }
}
