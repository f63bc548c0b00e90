using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Web.Features;
using TransferHub.Web.Features.Projects;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Tests.Infrastructure;
using TransferHub.Web.Tests.Jobs;

namespace TransferHub.Web.Tests.Datasets;

/// <summary>Renaming, deleting and restoring datasets and projects through the real services and database (ADR 019):
/// who may, what a delete hides at once, what undo brings back, and what the purge removes (and keeps) afterwards.</summary>
public sealed class DatasetRemovalTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private readonly ServiceScope _services = new(app);
    private readonly IServiceScope _scope = app.Services.CreateScope();

    public void Dispose()
    {
        _scope.Dispose();
        _services.Dispose();
    }

    private JobService Jobs => _scope.ServiceProvider.GetRequiredService<JobService>();

    /// <summary>A dataset of 4 images in 2 classes (bag, sandal).</summary>
    private async Task<(TeamScenario S, int DatasetId)> DatasetAsync(string name = "Clothes")
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, name);
        var entries = new[] { "bag", "sandal" }.SelectMany(c => TestFiles.FashionEntries(c, 2, $"train/{c}"));
        Assert.Equal(4, (await _services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(entries))).Accepted);
        return (s, datasetId);
    }

    /// <summary>Moves a delete back in time, as if its undo window (and the purge's margin) had passed.</summary>
    private async Task AgeAsync<T>(Func<TransferHubDbContext, DbSet<T>> set, Func<T, bool> which) where T : class
    {
        await using var db = await app.DbAsync();
        foreach (var row in set(db).AsEnumerable().Where(which))
            db.Entry(row).Property("DeletedAt").CurrentValue = DateTime.UtcNow - Removal.PurgeAfter - TimeSpan.FromSeconds(5);
        await db.SaveChangesAsync();
    }

    private DeletedContentPurge Purge => app.Service<DeletedContentPurge>();

    [Fact]
    public async Task AnEditorRenamesADatasetAndNamesStayUniqueWithinTheProject()
    {
        var (s, datasetId) = await DatasetAsync();
        var otherId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Shoes");

        await _services.Datasets.RenameAsync(s.EditorId, datasetId, "  Wardrobe  ");

        Assert.Equal("Wardrobe", (await _services.Datasets.GetAsync(s.ViewerId, datasetId))!.Dataset.Name);
        var taken = await Assert.ThrowsAsync<RuleViolationException>(() => _services.Datasets.RenameAsync(s.OwnerId, otherId, "Wardrobe"));
        Assert.Contains("already has a dataset named \"Wardrobe\"", taken.Message);
        await Assert.ThrowsAsync<RuleViolationException>(() => _services.Datasets.RenameAsync(s.OwnerId, otherId, "   "));
        await _services.Datasets.RenameAsync(s.OwnerId, datasetId, "Wardrobe"); // its own name is no clash
    }

    [Fact]
    public async Task AnOutsiderCannotRenameDeleteOrRestoreADatasetAndLearnsNothingFromTrying()
    {
        var (s, datasetId) = await DatasetAsync();
        const int missing = int.MaxValue;
        var datasets = _services.Datasets;

        async Task<string> Refusal(Func<int, Task> change, int id) => (await Assert.ThrowsAsync<NotFoundException>(() => change(id))).Message;
        foreach (var change in new Func<int, Task>[]
                 {
                     id => datasets.RenameAsync(s.OutsiderId, id, "Mine"), id => datasets.DeleteAsync(s.OutsiderId, id),
                     id => datasets.RestoreAsync(s.OutsiderId, id),
                 })
            Assert.Equal(await Refusal(change, missing), await Refusal(change, datasetId));
        Assert.Null(await datasets.RemovalImpactAsync(s.OutsiderId, datasetId));

        // Deleted, it stays invisible to them: no tombstone, no undo.
        await datasets.DeleteAsync(s.EditorId, datasetId);
        Assert.Null(await datasets.GetDeletedAsync(s.OutsiderId, datasetId));
        Assert.Equal(await Refusal(id => datasets.RestoreAsync(s.OutsiderId, id), missing),
            await Refusal(id => datasets.RestoreAsync(s.OutsiderId, id), datasetId));
        Assert.NotNull(await datasets.GetDeletedAsync(s.ViewerId, datasetId));
    }

    [Fact]
    public async Task AViewerSeesADatasetButCannotRenameDeleteOrRestoreIt()
    {
        var (s, datasetId) = await DatasetAsync();
        var datasets = _services.Datasets;

        await Assert.ThrowsAsync<ForbiddenException>(() => datasets.RenameAsync(s.ViewerId, datasetId, "Mine"));
        await Assert.ThrowsAsync<ForbiddenException>(() => datasets.DeleteAsync(s.ViewerId, datasetId));
        Assert.Equal("Clothes", (await datasets.GetAsync(s.ViewerId, datasetId))!.Dataset.Name);

        await datasets.DeleteAsync(s.EditorId, datasetId);
        await Assert.ThrowsAsync<ForbiddenException>(() => datasets.RestoreAsync(s.ViewerId, datasetId));
        var seen = await datasets.GetDeletedAsync(s.ViewerId, datasetId);
        Assert.False(seen!.CanRestore);
        Assert.True((await datasets.GetDeletedAsync(s.OwnerId, datasetId))!.CanRestore);
    }

    [Fact]
    public async Task DeletingHidesTheDatasetAtOnceAndUndoBringsItBackUnchanged()
    {
        var (s, datasetId) = await DatasetAsync();
        var datasets = _services.Datasets;
        var before = await datasets.GetAsync(s.ViewerId, datasetId);
        var page = await datasets.PageImagesAsync(s.ViewerId, datasetId, null, null, 1, 48);
        var sha = page.Items[0].Sha256;

        var impact = await datasets.RemovalImpactAsync(s.EditorId, datasetId);
        Assert.Equal(new RemovalImpact("Clothes", 1, 4, 0, 0), impact);
        var receipt = await datasets.DeleteAsync(s.EditorId, datasetId);

        Assert.Equal("Clothes", receipt.Name);
        Assert.InRange(receipt.UndoUntil - DateTimeOffset.UtcNow, Removal.Window - TimeSpan.FromMinutes(1), Removal.Window);
        Assert.Null(await datasets.GetAsync(s.OwnerId, datasetId));
        Assert.DoesNotContain(await datasets.ListAsync(s.OwnerId, s.ProjectId), d => d.Id == datasetId);
        Assert.Empty((await datasets.PageImagesAsync(s.OwnerId, datasetId, null, null, 1, 48)).Items);
        Assert.False(await datasets.HasImageAsync(s.OwnerId, datasetId, sha));
        Assert.Null(await datasets.GetImageAsync(s.OwnerId, datasetId, page.Items[0].Id));
        await Assert.ThrowsAsync<NotFoundException>(() => datasets.RenameAsync(s.OwnerId, datasetId, "Again"));
        await Assert.ThrowsAsync<NotFoundException>(() => datasets.DeleteAsync(s.OwnerId, datasetId));

        Assert.Equal("Clothes", await datasets.RestoreAsync(s.OwnerId, datasetId));

        var after = await datasets.GetAsync(s.ViewerId, datasetId);
        Assert.Equal(before!.Dataset, after!.Dataset);
        Assert.Equal(before.Classes, after.Classes);
        Assert.True(await datasets.HasImageAsync(s.ViewerId, datasetId, sha));
        Assert.Null(await datasets.GetDeletedAsync(s.OwnerId, datasetId));
        // Undo works once.
        await Assert.ThrowsAsync<NotFoundException>(() => datasets.RestoreAsync(s.OwnerId, datasetId));
    }

    [Fact]
    public async Task ADeletedDatasetsNameIsFreeAtOnceAndUndoThenRestoresItUnderAnotherName()
    {
        var (s, datasetId) = await DatasetAsync();
        await _services.Datasets.DeleteAsync(s.EditorId, datasetId);

        var newId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Clothes");

        Assert.Equal("Clothes (restored)", await _services.Datasets.RestoreAsync(s.EditorId, datasetId));
        Assert.Equal(["Clothes", "Clothes (restored)"], (await _services.Datasets.ListAsync(s.ViewerId, s.ProjectId)).Select(d => d.Name));
        Assert.Equal(0, (await _services.Datasets.GetAsync(s.ViewerId, newId))!.Dataset.Images);
        Assert.Equal(4, (await _services.Datasets.GetAsync(s.ViewerId, datasetId))!.Dataset.Images);
    }

    [Fact]
    public async Task ADatasetWithARunStillQueuedCannotBeDeletedAndNeitherCanItsProject()
    {
        var (s, datasetId) = await DatasetAsync();
        var runId = await StoredRuns.CompletedAsync(app, datasetId, 1, [(0, 0.9f), (1, 0.8f)]);
        await using (var db = await app.DbAsync())
        {
            (await db.Jobs.SingleAsync(j => j.Id == runId)).Status = JobStatus.Queued;
            await db.SaveChangesAsync();
        }

        Assert.Equal(1, (await _services.Datasets.RemovalImpactAsync(s.EditorId, datasetId))!.ActiveRuns);
        var refused = await Assert.ThrowsAsync<RuleViolationException>(() => _services.Datasets.DeleteAsync(s.EditorId, datasetId));
        Assert.Contains($"#{runId}", refused.Message);
        Assert.Contains("cancel it", refused.Message);
        await Assert.ThrowsAsync<RuleViolationException>(() => _services.Projects.DeleteAsync(s.OwnerId, s.ProjectId));
        Assert.NotNull(await _services.Datasets.GetAsync(s.ViewerId, datasetId));
    }

    [Fact]
    public async Task ADeletedDatasetsRunsAreKeptAndThePurgeRemovesOnlyItsImagesAndClasses()
    {
        var (s, datasetId) = await DatasetAsync();
        var shas = (await _services.Datasets.PageImagesAsync(s.ViewerId, datasetId, null, null, 1, 48)).Items.Select(i => i.Sha256).ToList();
        var runId = await StoredRuns.CompletedAsync(app, datasetId, 1, [(shas[0], 0, 0.9f), (shas[2], 1, 0.7f)]);
        await using (var db = await app.DbAsync())
        {
            // What a launch records: the run's images by content hash, so they outlive the dataset's rows.
            (await db.Jobs.SingleAsync(j => j.Id == runId)).ImageNamesJson = System.Text.Json.JsonSerializer.Serialize(shas.ToDictionary(h => h, h => $"{h[..8]}.png"));
            await db.SaveChangesAsync();
        }
        var emptyId = await _services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Empty");
        Assert.Equal(1, (await _services.Datasets.RemovalImpactAsync(s.EditorId, datasetId))!.Runs);

        await _services.Datasets.DeleteAsync(s.EditorId, datasetId);
        await _services.Datasets.DeleteAsync(s.EditorId, emptyId);

        // The run stays visible, with its evaluation, during the window and after the purge.
        var jobs = Jobs;
        Assert.NotNull(await jobs.GetAsync(s.ViewerId, runId));
        Assert.Contains(await jobs.ListAsync(s.ViewerId, s.ProjectId), r => r.Id == runId);
        Assert.Equal(1, (await _services.Datasets.GetDeletedAsync(s.ViewerId, datasetId))!.Runs);

        // Not yet due: the purge leaves a restorable dataset alone.
        await Purge.PurgeAsync();
        await using (var db = await app.DbAsync())
            Assert.Equal(4, await db.DatasetImages.CountAsync(i => i.DatasetId == datasetId));

        await AgeAsync(db => db.Datasets, d => d.Id == datasetId || d.Id == emptyId);
        await Assert.ThrowsAsync<RuleViolationException>(() => _services.Datasets.RestoreAsync(s.EditorId, datasetId));
        await Purge.PurgeAsync();

        await using (var db = await app.DbAsync())
        {
            Assert.Equal(0, await db.DatasetImages.CountAsync(i => i.DatasetId == datasetId));
            Assert.Equal(0, await db.DatasetClasses.CountAsync(c => c.DatasetId == datasetId));
            Assert.True(await db.Datasets.AnyAsync(d => d.Id == datasetId)); // kept for its run
            Assert.False(await db.Datasets.AnyAsync(d => d.Id == emptyId)); // no runs: gone
        }
        var run = await jobs.GetAsync(s.ViewerId, runId);
        Assert.Equal("Clothes", run!.Run.DatasetName);
        Assert.NotNull(await _scope.ServiceProvider.GetRequiredService<Features.Evaluation.EvaluationService>().GetAsync(s.ViewerId, runId));
        // Its images stay viewable through the run (the content store keeps the files).
        Assert.True(await _services.Datasets.HasImageAsync(s.ViewerId, datasetId, shas[0]));
        Assert.False(await _services.Datasets.HasImageAsync(s.OutsiderId, datasetId, shas[0]));
        var deleted = await _services.Datasets.GetDeletedAsync(s.OwnerId, datasetId);
        Assert.False(deleted!.CanRestore);
    }

    [Fact]
    public async Task DeletingAProjectHidesEverythingInItUndoRestoresItAndThePurgeRemovesItForGood()
    {
        var (s, datasetId) = await DatasetAsync();
        var runId = await StoredRuns.CompletedAsync(app, datasetId, 1, [(0, 0.9f), (1, 0.8f)]);
        var projects = _services.Projects;
        Assert.Equal(new RemovalImpact("Birds", 1, 4, 1, 0), await projects.RemovalImpactAsync(s.ViewerId, s.ProjectId));

        await Assert.ThrowsAsync<ForbiddenException>(() => projects.DeleteAsync(s.ViewerId, s.ProjectId));
        var receipt = await projects.DeleteAsync(s.EditorId, s.ProjectId);

        Assert.Equal("Birds", receipt.Name);
        Assert.Empty(await projects.ListAsync(s.OwnerId, s.TeamId));
        Assert.Null(await _services.Datasets.GetAsync(s.OwnerId, datasetId));
        Assert.Null(await _services.Datasets.GetDeletedAsync(s.OwnerId, datasetId)); // the project is what was deleted
        Assert.Null(await Jobs.GetAsync(s.OwnerId, runId));
        Assert.Equal(0, (await _services.Teams.ListAsync(s.OwnerId)).Single(t => t.Id == s.TeamId).ProjectCount);
        // Its name is free for a new project at once.
        var newId = await projects.CreateAsync(s.OwnerId, s.TeamId, "Birds", null);

        await Assert.ThrowsAsync<ForbiddenException>(() => projects.RestoreAsync(s.ViewerId, s.ProjectId));
        await Assert.ThrowsAsync<NotFoundException>(() => projects.RestoreAsync(s.OutsiderId, s.ProjectId));
        Assert.Equal("Birds (restored)", await projects.RestoreAsync(s.OwnerId, s.ProjectId));
        Assert.NotNull(await _services.Datasets.GetAsync(s.ViewerId, datasetId));
        Assert.NotNull(await Jobs.GetAsync(s.ViewerId, runId));

        // Deleted again and past its window: gone for good, with its datasets, images and runs.
        await projects.DeleteAsync(s.OwnerId, s.ProjectId);
        await AgeAsync(db => db.Projects, p => p.Id == s.ProjectId);
        await Assert.ThrowsAsync<RuleViolationException>(() => projects.RestoreAsync(s.OwnerId, s.ProjectId));
        Assert.True((await Purge.PurgeAsync()).Projects >= 1);
        await using var db = await app.DbAsync();
        Assert.False(await db.Projects.AnyAsync(p => p.Id == s.ProjectId));
        Assert.False(await db.Datasets.AnyAsync(d => d.Id == datasetId));
        Assert.False(await db.DatasetImages.AnyAsync(i => i.DatasetId == datasetId));
        Assert.False(await db.Jobs.AnyAsync(j => j.Id == runId));
        Assert.True(await db.Projects.AnyAsync(p => p.Id == newId));
    }
}
