using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Datasets.Curation;
using TransferHub.Web.Features.Datasets.Live;
using TransferHub.Web.Features.Datasets.Work;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Teams;
using TransferHub.Web.Features.Workers.Gateway;

namespace TransferHub.Web.Features.Datasets.LabelIssues;

/// <summary>What a label-issue search stored: how many images it flagged, as what, and how it was computed.</summary>
/// <param name="LikelyMislabelled">Images whose given label is likely wrong (confident learning), not counting kept labels.</param>
/// <param name="Outliers">Images far from every class (some may also be likely mislabelled).</param>
/// <param name="Flagged">Images flagged either way (each counted once), as listed: not those whose label someone kept.</param>
/// <param name="Examined">Labelled images in a split that were cross-validated (the search's population).</param>
/// <param name="Seconds">The whole search, from the request to the stored findings (images sent, features computed).</param>
public sealed record LabelIssueSummary(int LikelyMislabelled, int Outliers, int Flagged, int Examined, int Folds, double OutOfFoldAccuracy, string Method,
    string Backbone, double Seconds, string WorkerName);

/// <summary>One image of the gallery's "Suspected label issues" filter, as it is now.</summary>
public sealed record SuspectedIssue(long ImageId, string Sha256, string OriginalName, DatasetSplit Split, int GivenClassId, string GivenClassName,
    int? SuggestedClassId, string? SuggestedClassName, double SelfConfidence, double SuggestedProbability, bool LikelyMislabelled, bool Outlier);

/// <summary>
/// Label errors and outliers of a dataset (issue 13): a worker computes out-of-fold class probabilities of every
/// labelled image by stratified 5-fold logistic regression on the frozen backbone's cached features and flags images by
/// confident learning (Northcutt, Jiang &amp; Chuang 2021, "prune by noise rate"), plus images far from every class mean
/// (worker.proto FindLabelIssues). The findings replace the dataset's previous ones; the gallery lists those whose image
/// still carries the flagged label and whose label nobody kept. Editors search, accept a suggestion (a relabel, through
/// <see cref="CurationService"/>, so undo and live updates work as for any relabel), keep a label (remembered per image
/// content and class) or delete; viewers see the list.
/// </summary>
public sealed class LabelIssueService(
    IDbContextFactory<TransferHubDbContext> dbFactory,
    RunLauncher launcher,
    WorkerGateway gateway,
    RunImageSender imageSender,
    CurationService curation,
    DatasetEvents events,
    ClientSession session,
    TimeProvider clock)
{
    /// <summary>Runs a search on the first worker that answers and stores its findings (the dataset's previous ones go).
    /// <paramref name="progress"/> hears "sending images" (n of N) and "cross-validating on worker X".</summary>
    /// <exception cref="ForbiddenException">viewers (it takes worker time like a run)</exception>
    /// <exception cref="NotFoundException">no such dataset for this user</exception>
    /// <exception cref="RuleViolationException">the dataset cannot train (too few classes or images, images in no split),
    /// no worker, or the worker refused (its reason)</exception>
    public async Task<LabelIssueSummary> FindAsync(string userId, int datasetId, IProgress<WorkStep>? progress = null,
        CancellationToken cancellationToken = default)
    {
        // The summary states the whole search's time (sending images and computing features included), not only the
        // worker's cross-validation, which took 0.4 s of a 50 s first search in the browser walk-through.
        var started = clock.GetTimestamp();
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
            await new TeamAccess(db, userId).RequireDatasetAsync(datasetId, TeamPermission.EditContent, cancellationToken);
        // The backbone and size an auto run would use by default: the first offered (pretrained first) at its input size.
        var context = await launcher.LaunchContextAsync(userId, datasetId, cancellationToken);
        var backbone = context.Backbones.FirstOrDefault()
            ?? throw new RuleViolationException(context.WorkerProblem ?? "No worker offers a backbone: a site admin must register one (Workers page) first.");
        var settings = JobSettings.ForMode(TrainingMode.Auto, backbone.Name, backbone.InputSize);
        var spec = await launcher.CheckedSpecAsync(userId, datasetId, settings, cancellationToken);
        List<WorkerNode> workers;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
            workers = await db.Workers.Where(w => w.Enabled).OrderByDescending(w => w.Status == WorkerStatus.Online).ThenByDescending(w => w.IsLocal)
                .ToListAsync(cancellationToken);
        if (workers.Count == 0) throw new RuleViolationException("No worker is registered or enabled: a site admin must register one (Workers page) first.");
        LabelIssueResult result;
        try
        {
            (result, _) = await WorkerGateway.FirstAnsweringAsync(workers, async worker =>
            {
                await imageSender.SendMissingAsync(worker, spec, (missing, all) =>
                {
                    progress?.Report(new WorkStep("sending images", all - missing, all));
                    return Task.CompletedTask;
                }, cancellationToken);
                progress?.Report(new WorkStep($"computing features and cross-validating on {worker.Name}", 0, 0));
                return await gateway.FindLabelIssuesAsync(worker, spec, cancellationToken);
            });
        }
        catch (WorkerRefusedException e) when (e.Kind is RefusalKind.InvalidInput or RefusalKind.Precondition)
        {
            throw new RuleViolationException($"Worker {e.WorkerName} refused: {e.Detail}");
        }
        catch (NoWorkerAnsweredException e)
        {
            throw new RuleViolationException($"No worker could search for label issues ({string.Join("; ", e.Problems)}).");
        }
        return await StoreAsync(userId, datasetId, RunSpec.ClassNames(spec), RunSpec.ImageHashes(spec).Count, result, backbone.Name, started, cancellationToken);
    }

    private async Task<LabelIssueSummary> StoreAsync(string userId, int datasetId, IReadOnlyList<string> classNames, int examined, LabelIssueResult result,
        string backbone, long started, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var classIds = await db.DatasetClasses.Where(c => c.DatasetId == datasetId).ToDictionaryAsync(c => c.Name, c => c.Id, cancellationToken);
        var now = clock.GetUtcNow().UtcDateTime;
        await db.LabelIssueFindings.Where(f => f.DatasetId == datasetId).ExecuteDeleteAsync(cancellationToken);
        foreach (var image in result.Images)
        {
            // A class renamed or deleted while the worker computed: its images cannot be matched, so they are left out.
            if (!classIds.TryGetValue(classNames[image.GivenClassIndex], out var given)) continue;
            db.LabelIssueFindings.Add(new LabelIssueFinding
            {
                DatasetId = datasetId,
                Sha256 = image.Sha256,
                GivenClassId = given,
                SuggestedClassId = classIds.TryGetValue(classNames[image.SuggestedClassIndex], out var suggested) ? suggested : null,
                SelfConfidence = image.SelfConfidence,
                SuggestedProbability = image.SuggestedProbability,
                LikelyMislabelled = image.LikelyMislabelled,
                Outlier = image.Outlier,
                FoundAt = now,
            });
        }
        await db.SaveChangesAsync(cancellationToken);
        // Counted as listed: a picture whose label someone kept is flagged again by the worker but not listed.
        var kept = (await db.KeptLabels.Where(k => k.DatasetId == datasetId).Select(k => new { k.Sha256, k.ClassId }).ToListAsync(cancellationToken))
            .Select(k => (k.Sha256, k.ClassId)).ToHashSet();
        var listed = result.Images.Where(i => !(classIds.TryGetValue(classNames[i.GivenClassIndex], out var given) && kept.Contains((i.Sha256, given)))).ToList();
        var mislabelled = listed.Count(i => i.LikelyMislabelled);
        var outliers = listed.Count(i => i.Outlier);
        await events.PublishAsync(db, session, userId, datasetId,
            $"found {DatasetEvents.Count(mislabelled, "suspected label issue")} and {DatasetEvents.Count(outliers, "outlier")}", cancellationToken);
        return new LabelIssueSummary(mislabelled, outliers, listed.Count, examined, result.Folds, result.OutOfFoldAccuracy, result.Method, backbone,
            clock.GetElapsedTime(started).TotalSeconds, result.WorkerName);
    }

    /// <summary>The images the latest search flagged that still carry the flagged label and whose label nobody kept:
    /// likely mislabelled first, lowest self-confidence first; then outliers. Empty for a dataset the caller cannot see.</summary>
    public async Task<IReadOnlyList<SuspectedIssue>> ListAsync(string userId, int datasetId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        if (!await new TeamAccess(db, userId).Datasets.AnyAsync(d => d.Id == datasetId, cancellationToken)) return [];
        var rows = await (
            from f in db.LabelIssueFindings.Where(f => f.DatasetId == datasetId)
            join i in db.DatasetImages.Where(i => i.DatasetId == datasetId) on f.Sha256 equals i.Sha256
            where i.ClassId == f.GivenClassId
                && !db.KeptLabels.Any(k => k.DatasetId == datasetId && k.Sha256 == f.Sha256 && k.ClassId == f.GivenClassId)
            select new
            {
                i.Id, i.Sha256, i.OriginalName, i.Split, f.GivenClassId, Given = i.Class!.Name, f.SuggestedClassId,
                Suggested = db.DatasetClasses.Where(c => c.Id == f.SuggestedClassId).Select(c => c.Name).FirstOrDefault(),
                f.SelfConfidence, f.SuggestedProbability, f.LikelyMislabelled, f.Outlier,
            }).ToListAsync(cancellationToken);
        return [.. rows.Select(r => new SuspectedIssue(r.Id, r.Sha256, r.OriginalName, r.Split, r.GivenClassId, r.Given, r.Suggested is null ? null : r.SuggestedClassId,
                r.Suggested, r.SelfConfidence, r.SuggestedProbability, r.LikelyMislabelled, r.Outlier))
            .OrderByDescending(r => r.LikelyMislabelled).ThenBy(r => r.LikelyMislabelled ? r.SelfConfidence : 0).ThenBy(r => r.ImageId)];
    }

    /// <summary>Relabels the image as suggested (a relabel like any other: the test-split rules, live updates).</summary>
    /// <exception cref="NotFoundException">the image is no longer flagged (relabelled, kept or deleted meanwhile)</exception>
    public async Task<string> AcceptAsync(string userId, int datasetId, long imageId, CancellationToken cancellationToken = default)
    {
        var issue = (await ListAsync(userId, datasetId, cancellationToken)).FirstOrDefault(i => i.ImageId == imageId)
            ?? throw new NotFoundException("Suspected label issue");
        if (issue.SuggestedClassId is not { } suggested)
            throw new RuleViolationException("This image has no suggested class (the class was deleted); relabel it yourself.");
        await curation.RelabelAsync(userId, datasetId, [imageId], suggested, cancellationToken);
        return issue.SuggestedClassName!;
    }

    /// <summary>Keeps the image's current label: later searches do not flag this content with this class again.</summary>
    /// <exception cref="ForbiddenException">viewers</exception>
    /// <exception cref="NotFoundException">no such image in a dataset the caller can see, or it has no label</exception>
    public async Task KeepAsync(string userId, int datasetId, long imageId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        await new TeamAccess(db, userId).RequireDatasetAsync(datasetId, TeamPermission.EditContent, cancellationToken);
        var image = await db.DatasetImages.Where(i => i.Id == imageId && i.DatasetId == datasetId && i.ClassId != null)
            .Select(i => new { i.Sha256, ClassId = i.ClassId!.Value, Class = i.Class!.Name }).FirstOrDefaultAsync(cancellationToken)
            ?? throw new NotFoundException("Image");
        if (!await db.KeptLabels.AnyAsync(k => k.DatasetId == datasetId && k.Sha256 == image.Sha256 && k.ClassId == image.ClassId, cancellationToken))
        {
            db.KeptLabels.Add(new KeptLabel
            {
                DatasetId = datasetId, Sha256 = image.Sha256, ClassId = image.ClassId, KeptByUserId = userId, KeptAt = clock.GetUtcNow().UtcDateTime,
            });
            await db.SaveChangesAsync(cancellationToken);
        }
        await events.PublishAsync(db, session, userId, datasetId, $"kept the label {image.Class} of a suspected label issue", cancellationToken);
    }

}
