using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using TransferHub.Contracts.Jobs;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Accounts;
using TransferHub.Web.Features.Evaluation;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Models;
using TransferHub.Web.Features.Reports;
using JsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace TransferHub.Web.Features.Api;

/// <summary>Runs: launch on a dataset, follow, cancel, download the report files and the model, classify an image.
/// Thin adapters over <see cref="JobService"/>, <see cref="ReportEndpoints"/> and <see cref="EvaluationService"/>.</summary>
internal static class JobsApi
{
    public const int MaxTopK = 50;

    public static void MapJobsApi(this RouteGroupBuilder api)
    {
        api.MapPost("/datasets/{datasetId:int}/jobs", async (int datasetId, HttpRequest request, ClaimsPrincipal user, JobService jobs,
                IOptions<JsonOptions> json, CancellationToken ct) =>
            {
                var body = await ApiBody.ReadJsonObjectAsync(request, ct);
                var settings = SettingsFrom(body, json.Value.SerializerOptions, (await jobs.AutoBudgetDefaultAsync(ct)).Seconds);
                var launched = await jobs.QueueAsync(user.GetUserId(), datasetId, settings, ct);
                return TypedResults.Created($"{ApiExtensions.RoutePrefix}/jobs/{launched.Ids[0]}", new LaunchedJobs(launched.Ids, launched.Warnings));
            })
            .RequestBody<JobSettings>("application/json")
            .Produces<LaunchedJobs>(StatusCodes.Status201Created)
            .WithTags("Jobs").WithName("StartJob")
            .WithSummary("Queues a run (or one per seed with repeats > 1) with the launch form's settings (editors and owners).")
            .WithDescription(FormattableString.Invariant($"Any field left out takes the launch form's default for the mode (auto: frozen backbone, ") +
                FormattableString.Invariant($"a classifier chosen by cross-validation on train + val within timeBudgetSeconds, default {JobDefaults.AutoTimeBudgetSeconds} ") +
                FormattableString.Invariant($"(more when the slowest enabled worker measured fewer than {JobDefaults.ReferenceFeaturePassesPerSecond} feature images/s: scaled to the same work), ") +
                FormattableString.Invariant($"1 to {JobRules.MaxTimeBudgetSeconds}; it ignores the training recipe and refuses augmentation; featureExtraction: frozen backbone, ") +
                FormattableString.Invariant($"learning rate {JobDefaults.FeatureExtractionLearningRate}, {JobDefaults.FeatureExtractionEpochs} epochs, no augmentation; fineTune: ") +
                FormattableString.Invariant($"last stage unfrozen, {JobDefaults.FineTuneLearningRate}, cosine, {JobDefaults.FineTuneEpochs} epochs, light ") +
                FormattableString.Invariant($"augmentation, {JobDefaults.FineTuneHeadFirstEpochs} head-first epoch(s) (headFirstEpochs: the backbone stays frozen that long, ") +
                "at most epochs − 1)). A body without mode is featureExtraction, as it always was in v1 (the form's default is auto). " +
                "backbone is required. Class imbalance, in the manual modes (auto ignores it and compares its own class-balanced candidates): classWeighting none (default), inverseFrequency " +
                FormattableString.Invariant($"(n / (K·n_c)) or effectiveNumber (Cui et al. 2019, with classWeightBeta, default {JobDefaults.ClassWeightBeta}), and ") +
                "balancedSampling (each epoch draws every class equally often). Augmentation (fineTune with augment true, its default): " +
                "augmentation { randomCrop, cropScaleMin (above 0 to 1), horizontalFlip, verticalFlip, rotationDegrees (0 to 180), brightness, " +
                "contrast, saturation (jitter x: factor in [1 − x, 1 + x], x at least 0 and below 1), grayscaleProbability (0 to 1) }, each field " +
                "left out keeping the launch form's default; an augmentation in a mode that cannot use it is 400. Settings the form (and a worker) would refuse are answered 400 with every problem " +
                "in `errors` (by field) and `problems`; so is a backbone that no enabled worker offers (the message lists the offered " +
                "ones). A dataset that cannot train yet (fewer than 2 classes, no train split, a class without training images) is 409. " +
                "`warnings` in the answer say what the run's numbers will mean (e.g. no held-out images: evaluated on training images).")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);

        api.MapPost("/datasets/{datasetId:int}/lr-finder", async (int datasetId, HttpRequest request, ClaimsPrincipal user,
                LearningRateFinderService finder, IOptions<JsonOptions> json, CancellationToken ct) =>
            {
                var settings = SettingsFrom(await ApiBody.ReadJsonObjectAsync(request, ct), json.Value.SerializerOptions);
                var found = await finder.FindAsync(user.GetUserId(), datasetId, settings, cancellationToken: ct);
                var curve = found.Curve ?? throw new RuleViolationException(found.Problem ?? "The range test gave no curve.");
                return TypedResults.Ok(new ApiLearningRateCurve(curve.Suggested, curve.Minimum, curve.Steepest, curve.Explanation, curve.Seconds,
                    curve.WorkerName, [.. curve.Steps.Select(s => new ApiLearningRateStep(s.LearningRate, s.Loss, s.SmoothedLoss))]));
            })
            .RequestBody<JobSettings>("application/json")
            .WithTags("Jobs").WithName("FindLearningRate")
            .WithSummary("The learning-rate range test (Smith 2017; fastai's lr_find) for these launch settings: loss against learning rate " +
                "and a suggested rate (editors and owners). Nothing is queued or stored.")
            .WithDescription("The body is the one POST /datasets/{datasetId}/jobs takes (mode featureExtraction or fineTune; auto has no " +
                "learning rate and is 400). A worker trains the run's model from scratch for up to 100 mini-batches at rates rising from " +
                "1e-7 to 10 and stops once the smoothed loss exceeds 4× its minimum; suggested = the rate at the minimum / 10. Seconds for " +
                "feature extraction (cached features), about 100 training batches for fine-tuning. Settings a worker would refuse are 400; a " +
                "dataset that cannot train, or no worker answering, is 409.")
            .Produces<ApiLearningRateCurve>()
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);

        var job = api.MapGroup("/jobs/{jobId:int}").WithTags("Jobs");
        job.MapGet("", async (int jobId, ClaimsPrincipal user, JobService jobs, CancellationToken ct) =>
                TypedResults.Ok(ApiJob.From(await jobs.GetAsync(user.GetUserId(), jobId, ct) ?? throw new NotFoundException("Run"))))
            .WithName("GetJob").WithSummary("A run's status, progress, outcome and per-epoch metrics; for an auto run its leaderboard " +
                "(live while it chooses) and winner; the training doctor's findings as of now (findings).")
            .ProducesProblem(StatusCodes.Status404NotFound);
        job.MapPost("/cancel", async (int jobId, ClaimsPrincipal user, JobService jobs, CancellationToken ct) =>
            {
                var userId = user.GetUserId();
                await jobs.CancelAsync(userId, jobId, ct);
                return TypedResults.Accepted($"{ApiExtensions.RoutePrefix}/jobs/{jobId}",
                    ApiJob.From(await jobs.GetAsync(userId, jobId, ct) ?? throw new NotFoundException("Run")));
            })
            .WithName("CancelJob")
            .WithSummary("Cancels a queued run at once, a running one after its current batch (editors and owners).")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        job.MapPost("/requeue", async (int jobId, ClaimsPrincipal user, JobService jobs, CancellationToken ct) =>
            {
                var userId = user.GetUserId();
                await jobs.RequeueAsync(userId, jobId, ct);
                return TypedResults.Accepted($"{ApiExtensions.RoutePrefix}/jobs/{jobId}",
                    ApiJob.From(await jobs.GetAsync(userId, jobId, ct) ?? throw new NotFoundException("Run")));
            })
            .WithName("RequeueJob")
            .WithSummary("Puts a failed, cancelled or worker-lost run back in the queue with the data and settings it was launched with " +
                "(editors and owners); its next attempt starts from epoch 1 and earlier attempts' metrics stay stored.")
            .WithDescription("The same rules as the run page's Re-queue: a completed, diverged or active run is 409 (change the settings " +
                "and launch a new run instead), an ensemble is 409, a viewer 403, an outsider 404.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        job.MapPatch("", async (int jobId, HttpRequest request, ClaimsPrincipal user, JobService jobs, CancellationToken ct) =>
            {
                var userId = user.GetUserId();
                await jobs.UpdateLabelsAsync(userId, jobId, LabelsFrom(await ApiBody.ReadJsonObjectAsync(request, ct)), ct);
                return TypedResults.Ok(ApiJob.From(await jobs.GetAsync(userId, jobId, ct) ?? throw new NotFoundException("Run")));
            })
            .RequestBody<ApiJobLabels>("application/json")
            .WithName("UpdateJobLabels")
            .WithSummary("Renames, annotates, tags or stars a run (editors and owners); fields left out stay as they are.")
            .WithDescription(FormattableString.Invariant($"name: trimmed, at most {TrainingJob.NameMaxLength} characters, unique in the project ignoring case ") +
                FormattableString.Invariant($"(409 when another run has it), \"\" or null removes it. notes: trimmed, at most {TrainingJob.NotesMaxLength} characters. ") +
                FormattableString.Invariant($"tags: the whole list (replaces the run's tags; [] removes them), at most {RunLabels.MaxTags}, each trimmed, 1–{RunLabels.TagMaxLength} ") +
                "characters, no comma, not the same tag twice ignoring case. pinned: true stars the run (listed first in the Runs table). Any other field, " +
                "or a value of the wrong type, is 400 with every problem by field; a viewer is 403, an outsider 404. The answer is the run as GET returns it.")
            .Produces<ApiJob>()
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        var files = job.MapReportFiles();
        files.Pdf.WithName("DownloadReportPdf");
        files.PerClassCsv.WithName("DownloadPerClassCsv");
        files.PredictionsCsv.WithName("DownloadPredictionsCsv");
        files.EvaluationJson.WithName("DownloadEvaluationJson");
        files.LeaderboardCsv.WithName("DownloadLeaderboardCsv");
        var modelFiles = job.MapModelFiles();
        modelFiles.Onnx.WithName("DownloadModelOnnx");
        modelFiles.Card.WithName("DownloadModelCard");
        job.MapGet("/model", async (int jobId, ClaimsPrincipal user, ModelFilesService files, CancellationToken ct) =>
                TypedResults.Stream(await files.OpenModelZipAsync(user.GetUserId(), jobId, ct), "application/zip", $"run-{jobId}-model.zip"))
            .WithName("DownloadModel")
            .WithSummary("A completed run's trained model: a zip of model.json (backbone, classes, preprocessing), weights.safetensors and " +
                "model-card.json (the model card: data, settings, metrics with their split and per class, limitations, intended use).")
            .Produces<Stream>(StatusCodes.Status200OK, "application/zip")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        job.MapPost("/predict", async (int jobId, string? topK, HttpRequest request, ClaimsPrincipal user, EvaluationService evaluations,
                CancellationToken ct) =>
            {
                var k = TopK(topK);
                var image = await ApiBody.ReadBytesAsync(request, ["image/*", "application/octet-stream"], EvaluationService.MaxPredictBytes, ct);
                return TypedResults.Ok((await evaluations.PredictAsync(user.GetUserId(), jobId, image, k, ct)).Top);
            })
            .RequestBody<Stream>("image/png", "image/jpeg", "image/webp", "image/bmp", "image/gif", "application/octet-stream")
            .Produces<IReadOnlyList<Prediction>>()
            .WithName("Predict")
            .WithSummary("Classifies one image (the body) with a completed run's model: the top classes with probabilities.")
            .WithDescription($"Query topK: how many classes to return (1 to {MaxTopK}, default 5). Probabilities are calibrated " +
                "(softmax of the logits divided by the run's temperature). For the answer with the run's \"unknown\" threshold, use " +
                "POST /jobs/{jobId}/classify. For an ensemble the answer is the mean of its members' calibrated probabilities (each member's " +
                "stored model runs). A worker runs the model; the web " +
                "sends it the stored model first when it lacks it. An image the model cannot read, or no worker answering, is 409.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        job.MapHeatmaps().WithName("DownloadHeatmap");
        job.MapPost("/explain", async (int jobId, [Microsoft.AspNetCore.Mvc.FromQuery(Name = "class")] string[]? classes, HttpRequest request,
                ClaimsPrincipal user, EvaluationService evaluations, CancellationToken ct) =>
            {
                var image = await ApiBody.ReadBytesAsync(request, ["image/*", "application/octet-stream"], EvaluationService.MaxPredictBytes, ct);
                return TypedResults.Ok(ApiExplanation.From(await evaluations.ExplainAsync(user.GetUserId(), jobId, image, classes ?? [], ct)));
            })
            .RequestBody<Stream>("image/png", "image/jpeg", "image/webp", "image/bmp", "image/gif", "application/octet-stream")
            .WithName("Explain")
            .WithSummary("Grad-CAM heatmaps (Selvaraju et al. 2017) of one image (the body) under a completed run's model: where the " +
                "evidence for each class lies.")
            .WithDescription($"Query class (repeatable, up to {EvaluationService.MaxExplainedClasses}): the run's class names to explain; none = " +
                "the predicted class. A worker computes each map from the gradient of the class's score with respect to the backbone's last " +
                "convolutional stage, on exactly the input the model classifies, and draws it over the image by the run's resize mode (centre " +
                "crop: the part the model never saw is dimmed). Each `probability` is the calibrated one predict gives; the score is taken " +
                "before the run's temperature, which changes neither the predicted class nor the normalised map. A class that is not the run's is 400; an image the model cannot read, or no " +
                "worker answering, is 409.")
            .Produces<ApiExplanation>()
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        MapCalibration(job);
    }

    /// <summary>The calibration endpoints: classify with the "unknown" threshold, and set the threshold's target precision.</summary>
    private static void MapCalibration(RouteGroupBuilder job)
    {
        job.MapPost("/classify", async (int jobId, string? topK, HttpRequest request, ClaimsPrincipal user, EvaluationService evaluations,
                CancellationToken ct) =>
            {
                var k = TopK(topK);
                var image = await ApiBody.ReadBytesAsync(request, ["image/*", "application/octet-stream"], EvaluationService.MaxPredictBytes, ct);
                return TypedResults.Ok(await evaluations.PredictAsync(user.GetUserId(), jobId, image, k, ct));
            })
            .RequestBody<Stream>("image/png", "image/jpeg", "image/webp", "image/bmp", "image/gif", "application/octet-stream")
            .Produces<PredictionResult>()
            .WithName("Classify")
            .WithSummary("Classifies one image (the body) with a completed run's model and answers its class, or \"unknown\" when the " +
                "top probability is below the run's threshold (the top classes are given either way).")
            .WithDescription($"Query topK as for predict (1 to {MaxTopK}, default 5). `answer`: the top class, or \"unknown\" (`unknown` " +
                "true) when its calibrated probability is below `threshold`, chosen on the held-out images for `targetPrecision` (see the " +
                "run's `calibration`; PUT /jobs/{jobId}/calibration changes it). `threshold` null: the run has none (too few held-out " +
                "images, no threshold reaches the target, or trained before calibration existed; an ensemble, which answers the mean of its members' " +
                "calibrated probabilities) and always answers. `temperature`: the " +
                "model's (probabilities = softmax(logits / temperature)). Errors as for predict.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        job.MapPut("/calibration", async (int jobId, HttpRequest request, ClaimsPrincipal user, EvaluationService evaluations, JobService jobs,
                CancellationToken ct) =>
            {
                var body = await ApiBody.ReadJsonObjectAsync(request, ct);
                var target = Field(body, "targetPrecision") is JsonValue v && v.TryGetValue<double>(out var d) ? d
                    : throw new ApiRequestException(StatusCodes.Status400BadRequest, "The body must be {\"targetPrecision\": a number from 0.5 to 0.999}.");
                if (Contracts.Metrics.RejectionThreshold.CheckTarget(target) is { } problem)
                    throw new ApiRequestException(StatusCodes.Status400BadRequest, problem);
                await evaluations.SetTargetPrecisionAsync(user.GetUserId(), jobId, target, ct);
                return TypedResults.Ok(ApiCalibration.From((await jobs.GetAsync(user.GetUserId(), jobId, ct))?.Calibration));
            })
            .RequestBody<ApiTargetPrecision>("application/json")
            .Produces<ApiCalibration>()
            .WithName("SetTargetPrecision")
            .WithSummary("Sets the precision a run's answered predictions should reach and chooses its \"unknown\" threshold for it " +
                "(editors and owners).")
            .WithDescription("Body {\"targetPrecision\": 0.95}: 0.5 to 0.999, else 400. The threshold is the lowest calibrated confidence " +
                "whose answered held-out (validation, or for auto runs out-of-fold) predictions reach the target; the answer is the run's " +
                "calibration with the new threshold, its coverage and a sentence (which says so when no threshold reaches the target or the " +
                "held-out images are too few). A viewer is 403, an outsider 404, a run without calibration (an ensemble, or trained before " +
                "calibration existed) 409.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
    }

    /// <summary>The launch form's defaults for the body's mode (feature extraction when it names none, as v1 always did), overwritten by
    /// every field the body gives; a field JobSettings does not have is refused, so a typo is not silently ignored.</summary>
    /// <param name="autoTimeBudgetSeconds">Auto mode's default budget for this fleet (<see cref="AutoBudgetDefault"/>).</param>
    internal static JobSettings SettingsFrom(JsonObject body, JsonSerializerOptions json, int autoTimeBudgetSeconds = JobDefaults.AutoTimeBudgetSeconds)
    {
        try
        {
            var mode = Field(body, "mode") is { } m ? m.Deserialize<TrainingMode>(json) : TrainingMode.FeatureExtraction;
            var merged = JsonSerializer.SerializeToNode(JobSettings.ForMode(mode, autoTimeBudgetSeconds: autoTimeBudgetSeconds), json)!.AsObject();
            Overlay(merged, body);
            var strict = new JsonSerializerOptions(json) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };
            var settings = merged.Deserialize<JobSettings>(strict)!;
            // Left out, the head-first default leaves at least one of the body's epochs to fine-tune (as the worker's does).
            if (settings.Mode == TrainingMode.FineTune && Field(body, "headFirstEpochs") is null)
                settings.HeadFirstEpochs = JobDefaults.HeadFirstEpochs(settings.Epochs);
            // Settings that would be stored but never used are a mistake to say, not to ignore.
            if (Field(body, "augmentation") is JsonObject && !(settings.Augment && settings.Mode == TrainingMode.FineTune))
                throw new InvalidInputException([("augmentation", settings.Mode == TrainingMode.FineTune
                    ? "augmentation is given but augment is false: set augment to true (the fineTune default) or leave augmentation out."
                    : "augmentation is given but only mode fineTune augments training images (the frozen modes cache each image's features once): set mode to fineTune or leave augmentation out.")]);
            return settings;
        }
        catch (JsonException e)
        {
            throw new ApiRequestException(StatusCodes.Status400BadRequest, $"The settings do not fit: {JsonProblems.Describe(e)}");
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new ApiRequestException(StatusCodes.Status400BadRequest, $"The settings do not fit: {e.Message}");
        }
    }

    private static JsonNode? Field(JsonObject body, string name) =>
        body.FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    /// <summary>Copies <paramref name="source"/>'s fields onto <paramref name="target"/> (names matched ignoring case),
    /// object fields field by field (so <c>augmentation: {"verticalFlip": true}</c> keeps the other defaults).</summary>
    private static void Overlay(JsonObject target, JsonObject source)
    {
        foreach (var (name, value) in source)
        {
            var key = target.Select(p => p.Key).FirstOrDefault(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase)) ?? name;
            if (target[key] is JsonObject inner && value is JsonObject patch)
                Overlay(inner, patch);
            else
                target[key] = value?.DeepClone();
        }
    }

    /// <summary>The topK query value; read as text so a bad one is a 400 with a reason, not a binding failure.</summary>
    private static int TopK(string? text)
    {
        if (string.IsNullOrEmpty(text)) return 5;
        return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var k) && k is >= 1 and <= MaxTopK
            ? k
            : throw new ApiRequestException(StatusCodes.Status400BadRequest, $"topK must be a whole number from 1 to {MaxTopK}.");
    }

    /// <summary>The PATCH body as a change: a field left out stays; null clears name and notes (tags: [] clears).</summary>
    /// <exception cref="InvalidInputException">An unknown field or a value of the wrong type, each by field.</exception>
    internal static RunLabelsChange LabelsFrom(JsonObject body)
    {
        var problems = new List<(string Field, string Message)>();
        string? Text(string field)
        {
            if (!body.TryGetPropertyValue(field, out var node)) return null;
            if (node is null) return "";
            if (node is JsonValue value && value.TryGetValue<string>(out var text)) return text;
            problems.Add((field, $"{field} must be a string or null."));
            return null;
        }
        var name = Text("name");
        var notes = Text("notes");
        IReadOnlyList<string>? tags = null;
        if (body.TryGetPropertyValue("tags", out var tagsNode))
        {
            if (tagsNode is null) tags = [];
            else if (tagsNode is JsonArray array && array.All(t => t is JsonValue v && v.TryGetValue<string>(out _)))
                tags = [.. array.Select(t => t!.GetValue<string>())];
            else problems.Add(("tags", "tags must be an array of strings."));
        }
        bool? pinned = null;
        if (body.TryGetPropertyValue("pinned", out var pinnedNode))
        {
            if (pinnedNode is JsonValue v && v.TryGetValue<bool>(out var b)) pinned = b;
            else problems.Add(("pinned", "pinned must be true or false."));
        }
        foreach (var (key, _) in body.Where(p => p.Key is not ("name" or "notes" or "tags" or "pinned")))
            problems.Add((key, $"Unknown field \"{key}\": a run's name, notes, tags and pinned can be changed."));
        if (problems.Count > 0) throw new InvalidInputException(problems);
        return new RunLabelsChange { Name = name, Notes = notes, Tags = tags, Pinned = pinned };
    }
}
