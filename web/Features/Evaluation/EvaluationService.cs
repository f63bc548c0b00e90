using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Teams;
using TransferHub.Web.Features.Workers.Gateway;
using TransferHub.Web.Storage;

namespace TransferHub.Web.Features.Evaluation;

/// <summary>A finished run's evaluation with what the page needs around it. <see cref="Calibration"/>: null for ensembles
/// and runs trained before calibration existed.</summary>
/// <param name="HasModel">A stored model of its own (not an ensemble): its images can be explained (heatmaps).</param>
/// <param name="CenterCrop">The run cropped the centre of each image (what its heatmaps dim around).</param>
public sealed record EvaluationView(int JobId, int DatasetId, bool CanEdit, Jobs.RunEvaluation Result, IReadOnlyList<DatasetClassChoice> DatasetClasses,
    bool HasModel = false, bool CenterCrop = false)
{
    public CalibrationView? Calibration { get; init; }
    public bool IsEnsemble { get; init; }
}

public sealed record DatasetClassChoice(int Id, string Name);

/// <summary>An evaluated image in a confusion-matrix cell: what it is labelled now in the dataset (it may have been
/// relabelled since the run) next to what the run saw and predicted.</summary>
public sealed record CellImage(long? ImageId, string Sha256, string OriginalName, string TrueClass, string PredictedClass, double Confidence,
    string? CurrentLabel);

public sealed record Prediction(string ClassName, double Probability);

/// <summary>What Predict answers for one image: the top classes (calibrated probabilities, most probable first) and
/// <see cref="Answer"/> = the top class, or <see cref="UnknownAnswer"/> when its probability is below the run's
/// <see cref="Threshold"/> (null: the run has none, it always answers). <see cref="TargetPrecision"/> is what the threshold
/// was chosen for; <see cref="Temperature"/> the model's.</summary>
public sealed record PredictionResult(IReadOnlyList<Prediction> Top, string Answer, bool Unknown, double? Threshold, double? TargetPrecision,
    double Temperature)
{
    public const string UnknownAnswer = "unknown";

    public static PredictionResult Of(IReadOnlyList<Prediction> top, double? threshold, double? targetPrecision, double temperature)
    {
        var unknown = threshold is { } t && top.Count > 0 && top[0].Probability < t;
        return new PredictionResult(top, unknown || top.Count == 0 ? UnknownAnswer : top[0].ClassName, unknown, threshold,
            threshold is null ? null : targetPrecision, temperature);
    }
}

/// <summary>Evaluation, confusion-matrix drill-down and "test an image" for finished runs. Authorized through
/// <see cref="TeamAccess"/> like every team-owned object.</summary>
public sealed class EvaluationService(
    IDbContextFactory<TransferHubDbContext> dbFactory,
    WorkerGateway workers,
    ModelStore models,
    ImageStore images)
{
    public const long MaxPredictBytes = 20 * 1024 * 1024;

    /// <summary>The most classes one explanation covers (the worker's limit).</summary>
    public const int MaxExplainedClasses = 8;

    /// <summary>The run's evaluation, or null when it has none (yet).</summary>
    public async Task<EvaluationView?> GetAsync(string userId, int jobId, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var access = new TeamAccess(db, userId);
        var job = await access.Jobs.Where(j => j.Id == jobId)
            .Select(j => new { j.DatasetId, j.EvaluationJson, j.CalibrationJson, j.TargetPrecision, j.Dataset!.Project!.TeamId, j.Status, j.ModelId,
                j.Kind, j.SettingsJson })
            .FirstOrDefaultAsync(cancellationToken)
            ?? throw new NotFoundException("Run");
        if (job.EvaluationJson is null) return null;
        var role = await access.RoleInAsync(job.TeamId, cancellationToken);
        var classes = await db.DatasetClasses.Where(c => c.DatasetId == job.DatasetId).OrderBy(c => c.Ordinal)
            .Select(c => new DatasetClassChoice(c.Id, c.Name)).ToListAsync(cancellationToken);
        var hasModel = job.Kind != JobKind.Ensemble && models.HasModelOf(jobId, job.Status, job.ModelId);
        var centerCrop = job.SettingsJson.Length > 0 && (System.Text.Json.JsonSerializer.Deserialize<JobSettings>(job.SettingsJson)?.CenterCrop ?? false);
        return new EvaluationView(jobId, job.DatasetId, role?.Allows(TeamPermission.EditContent) == true,
            Jobs.RunEvaluation.FromJson(job.EvaluationJson), classes, hasModel, centerCrop)
        {
            Calibration = CalibrationView.Of(job.CalibrationJson, job.TargetPrecision),
            IsEnsemble = job.Kind == JobKind.Ensemble,
        };
    }

    /// <summary>Sets the precision the run's answered predictions should reach and chooses the "unknown" threshold for
    /// it on the held-out confidences (editors and owners). Returns the new choice, which may be "no threshold" (its
    /// message says why).</summary>
    /// <exception cref="NotFoundException">no such run visible to the caller</exception>
    /// <exception cref="ForbiddenException">a viewer</exception>
    /// <exception cref="RuleViolationException">a target outside 50 %–99.9 %, or a run without calibration (an ensemble, or
    /// trained before calibration existed)</exception>
    public async Task<CalibrationView> SetTargetPrecisionAsync(string userId, int jobId, double targetPrecision, CancellationToken cancellationToken = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var access = new TeamAccess(db, userId);
        var job = await access.Jobs.Include(j => j.Dataset!.Project).FirstOrDefaultAsync(j => j.Id == jobId, cancellationToken)
            ?? throw new NotFoundException("Run");
        await access.DemandAsync(job.Dataset!.Project!.TeamId, TeamPermission.EditContent, cancellationToken);
        if (Contracts.Metrics.RejectionThreshold.CheckTarget(targetPrecision) is { } problem) throw new RuleViolationException(problem);
        if (CalibrationView.Of(job.CalibrationJson, targetPrecision) is not { } view)
            throw new RuleViolationException(job.Kind == JobKind.Ensemble
                ? "An ensemble has no held-out confidences of its own to choose a threshold on; set it on its members."
                : "This run has no calibration data (it finished before calibration existed, or has not finished): train it again to get a threshold.");
        job.TargetPrecision = targetPrecision;
        job.RejectionThreshold = view.Rejection.Threshold;
        await db.SaveChangesAsync(cancellationToken);
        return view;
    }

    /// <summary>The images of one confusion-matrix cell (true class row, predicted class column), least confident first
    /// for correct cells and most confident first for mistakes (the likeliest label errors).</summary>
    public async Task<IReadOnlyList<CellImage>> CellAsync(string userId, int jobId, int trueClass, int predictedClass, CancellationToken cancellationToken = default)
    {
        var view = await GetAsync(userId, jobId, cancellationToken) ?? throw new RuleViolationException("This run has no evaluation.");
        var result = view.Result;
        var names = result.ClassNames;
        if (trueClass < 0 || trueClass >= names.Count || predictedClass < 0 || predictedClass >= names.Count)
            throw new RuleViolationException($"There is no cell ({trueClass}, {predictedClass}) in a {names.Count}-class matrix.");
        var verdicts = result.Predictions.Where(p => p.TrueClass == trueClass && p.PredictedClass == predictedClass).ToList();
        var shas = verdicts.Select(v => v.Sha256).ToList();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var current = await db.DatasetImages.Where(i => i.DatasetId == view.DatasetId && shas.Contains(i.Sha256))
            .Select(i => new { i.Id, i.Sha256, i.OriginalName, Label = i.Class == null ? null : i.Class.Name })
            .ToDictionaryAsync(i => i.Sha256, cancellationToken);
        // Deleted since: the run still knows the file's name (recorded at launch), and its thumbnail is still served.
        var recorded = JobService.ImageNames(await db.Jobs.AsNoTracking().FirstAsync(j => j.Id == jobId, cancellationToken));
        var ordered = trueClass == predictedClass ? verdicts.OrderBy(v => v.Confidence) : verdicts.OrderByDescending(v => v.Confidence);
        return [.. ordered.Select(v => current.TryGetValue(v.Sha256, out var image)
            ? new CellImage(image.Id, v.Sha256, image.OriginalName, names[v.TrueClass], names[v.PredictedClass], v.Confidence, image.Label)
            : new CellImage(null, v.Sha256, recorded.TryGetValue(v.Sha256, out var name) ? $"{name} (deleted from the dataset)" : "(deleted from the dataset)", names[v.TrueClass], names[v.PredictedClass], v.Confidence, null))];
    }

    /// <summary>Classifies one uploaded image with a finished run's model: the top <paramref name="topK"/> classes
    /// (calibrated probabilities) and the answer, "unknown" below the run's threshold. The model is copied to a worker
    /// first when the worker does not have it (results outlive their worker).</summary>
    /// <remarks>An ensemble (no model of its own) has each member classify the image and averages the members' calibrated
    /// probabilities, class by class — what its evaluation did with their test predictions and what its ONNX export computes;
    /// it has no "unknown" threshold (<see cref="PredictionResult.Threshold"/> null) and its <see cref="PredictionResult.Temperature"/>
    /// is 1 (each member divides by its own).</remarks>
    /// <exception cref="RuleViolationException">no stored model (an ensemble: a member deleted or without one), no worker,
    /// or an image the worker cannot use (its reason)</exception>
    public async Task<PredictionResult> PredictAsync(string userId, int jobId, byte[] image, int topK = 5, CancellationToken cancellationToken = default)
    {
        CheckUpload(image);
        if (await EnsembleMembersAsync(userId, jobId, cancellationToken) is { } members)
            return await PredictEnsembleAsync(members.Ensemble, members.Members, members.Workers, image, topK, cancellationToken);
        var (job, enabled) = await ModelRunAsync(userId, jobId, "classify images", cancellationToken);
        var (top, temperature) = await OnAWorkerAsync(enabled, worker =>
            workers.PredictAsync(worker, job.ModelId!, image, topK, () => models.OpenRead(jobId), cancellationToken)); // ModelRunAsync: not null
        return PredictionResult.Of([.. top.Select(t => new Prediction(t.ClassName, t.Probability))], job.RejectionThreshold,
            job.TargetPrecision ?? Contracts.Metrics.RejectionThreshold.DefaultTargetPrecision, temperature);
    }

    /// <summary>Grad-CAM heatmaps (Selvaraju et al. 2017) of an uploaded image under a finished run's model: where in the
    /// image the evidence for each of <paramref name="classNames"/> lies (the run's class names, at most
    /// <see cref="MaxExplainedClasses"/>; none = the predicted class). Computed by a worker on exactly the input the model
    /// classifies and drawn over the image by the run's resize mode.</summary>
    /// <exception cref="InvalidInputException">A name that is not one of the run's classes, a repeated one, or too many.</exception>
    public async Task<ImageExplanation> ExplainAsync(string userId, int jobId, byte[] image, IReadOnlyList<string> classNames,
        CancellationToken cancellationToken = default)
    {
        CheckUpload(image);
        int[] indices = [];
        var (job, enabled) = await ModelRunAsync(userId, jobId, "explain images", cancellationToken, job =>
        {
            var names = JobService.ClassNames(job);
            var problems = classNames.Where(n => !names.Contains(n, StringComparer.Ordinal)).Distinct()
                .Select(n => ("class", $"'{n}' is not a class of this run (its classes: {string.Join(", ", names)}).")).ToList();
            if (classNames.Count > MaxExplainedClasses) problems.Add(("class", $"At most {MaxExplainedClasses} classes at once; got {classNames.Count}."));
            if (classNames.Distinct(StringComparer.Ordinal).Count() != classNames.Count) problems.Add(("class", "Each class at most once."));
            if (problems.Count > 0) throw new InvalidInputException(problems);
            indices = [.. classNames.Select(n => names.ToList().IndexOf(n))];
        });
        return await OnAWorkerAsync(enabled, worker =>
            workers.ExplainAsync(worker, job.ModelId!, image, indices, () => models.OpenRead(jobId), cancellationToken));
    }

    /// <summary>The Grad-CAM heatmap of one of the run's evaluated images (the confusion-matrix drill-down) for the class
    /// <paramref name="classIndex"/> (an index into the run's classes, as in its evaluation: typically the image's label
    /// as the run saw it, or the class it predicted).</summary>
    /// <exception cref="NotFoundException">The run, or an image it did not evaluate.</exception>
    /// <exception cref="InvalidInputException">A class index outside the run's classes.</exception>
    public async Task<ImageExplanation> ExplainEvaluatedAsync(string userId, int jobId, string sha256, int classIndex,
        CancellationToken cancellationToken = default)
    {
        var view = await GetAsync(userId, jobId, cancellationToken) ?? throw new RuleViolationException("This run has no evaluation.");
        var names = view.Result.ClassNames;
        if (classIndex < 0 || classIndex >= names.Count)
            throw new InvalidInputException([("class", $"The class must be 0 to {names.Count - 1} (the run's classes in order: {string.Join(", ", names)}); got {classIndex}.")]);
        if (!view.Result.Predictions.Any(p => p.Sha256 == sha256)) throw new NotFoundException("Evaluated image");
        var (job, enabled) = await ModelRunAsync(userId, jobId, "explain images", cancellationToken);
        byte[] image;
        try
        {
            image = await images.ReadImageAsync(sha256, cancellationToken);
        }
        catch (IOException)
        {
            throw new RuleViolationException("The image is no longer in storage.");
        }
        return await OnAWorkerAsync(enabled, worker =>
            workers.ExplainAsync(worker, job.ModelId!, image, [classIndex], () => models.OpenRead(jobId), cancellationToken));
    }

    /// <summary>The mean of the members' calibrated probabilities (every class of each member, by class name), top
    /// <paramref name="topK"/> first.</summary>
    private async Task<PredictionResult> PredictEnsembleAsync(TrainingJob ensemble, IReadOnlyList<TrainingJob> members, List<WorkerNode> enabled,
        byte[] image, int topK, CancellationToken cancellationToken)
    {
        var classes = JobService.ClassNames(ensemble).ToList();
        var sums = classes.ToDictionary(c => c, _ => 0.0, StringComparer.Ordinal);
        foreach (var member in members)
        {
            var (top, _) = await OnAWorkerAsync(enabled, worker =>
                workers.PredictAsync(worker, member.ModelId!, image, classes.Count, () => models.OpenRead(member.Id), cancellationToken));
            foreach (var (className, probability) in top)
                if (sums.ContainsKey(className)) sums[className] += probability / members.Count;
        }
        IReadOnlyList<Prediction> ranked = [.. sums.OrderByDescending(p => p.Value).ThenBy(p => classes.IndexOf(p.Key))
            .Take(topK <= 0 ? 5 : topK).Select(p => new Prediction(p.Key, p.Value))];
        return PredictionResult.Of(ranked, threshold: null, targetPrecision: null, temperature: 1);
    }

    /// <summary>For an ensemble the caller can see: it, its members (in its order, each with a stored model) and the enabled
    /// workers; null for any other run (including one the caller cannot see, which <see cref="ModelRunAsync"/> refuses).</summary>
    /// <exception cref="RuleViolationException">a member deleted since or without a stored model (named), or no enabled worker</exception>
    private async Task<(TrainingJob Ensemble, IReadOnlyList<TrainingJob> Members, List<WorkerNode> Workers)?> EnsembleMembersAsync(string userId, int jobId,
        CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var access = new TeamAccess(db, userId);
        var ensemble = await access.Jobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == jobId && j.Kind == JobKind.Ensemble, cancellationToken);
        if (ensemble is null) return null;
        var ids = (ensemble.EnsembleOf ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
        var found = await access.Jobs.AsNoTracking().Where(j => ids.Contains(j.Id)).ToDictionaryAsync(j => j.Id, cancellationToken);
        var problems = ids.Select(id => !found.TryGetValue(id, out var m) ? $"a member (run id {id}) was deleted"
                : models.HasModelOf(m) ? null
                : m.Status == JobStatus.Completed ? $"run #{m.Number} has no stored model" : $"run #{m.Number} is {JobService.Describe(m.Status)}")
            .OfType<string>().ToList();
        if (problems.Count > 0)
            throw new RuleViolationException($"This ensemble cannot classify images: {string.Join("; ", problems)}.");
        var enabled = await db.Workers.Where(w => w.Enabled).OrderByDescending(w => w.IsLocal).AsNoTracking().ToListAsync(cancellationToken);
        if (enabled.Count == 0) throw new RuleViolationException("No worker is enabled to run the model: ask a site admin to register one.");
        return (ensemble, [.. ids.Select(id => found[id])], enabled);
    }

    private static void CheckUpload(byte[] image)
    {
        if (image.Length == 0) throw new RuleViolationException("The file is empty.");
        if (image.Length > MaxPredictBytes) throw new RuleViolationException($"The image is larger than {MaxPredictBytes / 1024 / 1024} MB.");
    }

    /// <summary>The caller's completed run with a stored model (not an ensemble) and the enabled workers, the run's own
    /// worker first, then the local one.</summary>
    /// <param name="check">Checks the request against the run before any worker is looked for.</param>
    private async Task<(TrainingJob Job, List<WorkerNode> Workers)> ModelRunAsync(string userId, int jobId, string what, CancellationToken cancellationToken,
        Action<TrainingJob>? check = null)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var job = await new TeamAccess(db, userId).Jobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == jobId, cancellationToken)
            ?? throw new NotFoundException("Run");
        if (!models.HasModelOf(job))
            throw new RuleViolationException(job.Kind == JobKind.Ensemble
                ? $"An ensemble has no single model to {what} with; use one of its members."
                : $"Only a completed run with a stored model can {what}.");
        check?.Invoke(job);
        var enabled = await db.Workers.Where(w => w.Enabled).OrderByDescending(w => w.Id == job.WorkerId).ThenByDescending(w => w.IsLocal)
            .AsNoTracking().ToListAsync(cancellationToken);
        if (enabled.Count == 0) throw new RuleViolationException("No worker is enabled to run the model: ask a site admin to register one.");
        return (job, enabled);
    }

    /// <summary>The first enabled worker that answers; its refusals in the user's terms.</summary>
    private static async Task<T> OnAWorkerAsync<T>(List<WorkerNode> enabled, Func<WorkerNode, Task<T>> call)
    {
        try
        {
            return (await WorkerGateway.FirstAnsweringAsync(enabled, call)).Result;
        }
        catch (WorkerRefusedException e) when (e.Kind == RefusalKind.InvalidInput)
        {
            throw UnusableImageException.FromWorker(e.Detail);
        }
        catch (NoWorkerAnsweredException e)
        {
            throw new RuleViolationException($"No worker could run the model ({string.Join("; ", e.Problems)}).");
        }
    }
}
