using System.Runtime.CompilerServices;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using Polly;
using Polly.Retry;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Augmentation;
using TransferHub.Worker.V1;

namespace TransferHub.Web.Features.Workers.Gateway;

/// <summary>
/// The web's one door to its workers (ADR 012, modelled on eShop's WebApp <c>BasketService</c>): the only class that
/// calls the generated gRPC client. It owns the channels (<see cref="WorkerClientFactory"/>), the workers' tokens
/// (<see cref="WorkerTokens"/>), deadlines, retries of idempotent calls (Polly), "the first enabled worker that answers",
/// and the mapping between <c>worker.proto</c> messages and the web's records (<see cref="RunEvent"/>,
/// <see cref="WorkerDescription"/>, …). Every failure leaves as <see cref="WorkerUnavailableException"/> (try later or
/// elsewhere) or <see cref="WorkerRefusedException"/> (the worker said no, with its reason); cancellation by the caller
/// as <see cref="OperationCanceledException"/>.
/// </summary>
public sealed class WorkerGateway(WorkerClientFactory channels, WorkerTokens tokens, ILogger<WorkerGateway> logger)
{
    /// <summary>Health + GetInfo, also what the Workers page's "Test connection" waits for.</summary>
    public static readonly TimeSpan ContactTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ShortCallTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan TransferTimeout = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan ModelTimeout = TimeSpan.FromSeconds(60);
    private const int ModelChunkBytes = 256 * 1024;

    /// <summary>Idempotent unary calls are tried again twice when the worker could not be reached (a worker that is
    /// restarting, a connection reset); refusals and timeouts are not retried.</summary>
    private static readonly ResiliencePipeline Idempotent = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<WorkerUnavailableException>(e => e.InnerException is not RpcException { StatusCode: StatusCode.DeadlineExceeded }),
            MaxRetryAttempts = 2,
            Delay = TimeSpan.FromMilliseconds(200),
            BackoffType = DelayBackoffType.Exponential,
        })
        .Build();

    /// <summary>What the worker says about itself; checks its health first.</summary>
    public async Task<WorkerDescription> DescribeAsync(WorkerNode worker, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + ContactTimeout;
        var health = await CallAsync(worker, () => channels.Health(worker.Address)
            .CheckAsync(new HealthCheckRequest(), deadline: deadline, cancellationToken: cancellationToken).ResponseAsync, cancellationToken);
        if (health.Status != HealthCheckResponse.Types.ServingStatus.Serving)
            throw new WorkerRefusedException(worker.Name, RefusalKind.Precondition, $"the worker answers but reports {health.Status}.");
        var info = await CallAsync(worker, () => Client(worker).GetInfoAsync(new GetInfoRequest(), deadline: deadline,
            cancellationToken: cancellationToken).ResponseAsync, cancellationToken);
        return new WorkerDescription(info.Name, info.Version.Split('+')[0],
            info.DeviceKind switch { DeviceKind.Cuda => "cuda", DeviceKind.Cpu => "cpu", _ => "unknown" }, info.DeviceName, info.Capacity,
            [.. info.Backbones.Select(b => new WorkerBackbone(b.Name, b.DisplayName, b.InputSize, b.Stages, b.Parameters, b.Pretrained,
                b.Error == "" ? null : b.Error, b.WeightsSource, b.WeightsLicence))],
            info.FeatureImagesPerSecond > 0 && double.IsFinite(info.FeatureImagesPerSecond) ? info.FeatureImagesPerSecond : null);
    }

    /// <summary>Whether the worker still knows the run attempt <paramref name="workerJobId"/> (running or finished).</summary>
    public async Task<bool> KnowsRunAsync(WorkerNode worker, string workerJobId, CancellationToken cancellationToken)
    {
        try
        {
            await RetriedAsync(worker, () => Client(worker).GetJobStatusAsync(new GetJobStatusRequest { JobId = workerJobId },
                deadline: DateTime.UtcNow + ShortCallTimeout, cancellationToken: cancellationToken).ResponseAsync, cancellationToken);
            return true;
        }
        catch (WorkerRefusedException e) when (e.Kind == RefusalKind.NotFound)
        {
            return false;
        }
    }

    /// <summary>The hashes among <paramref name="sha256"/> the worker does not have yet.</summary>
    public async Task<IReadOnlyList<string>> FindMissingImagesAsync(WorkerNode worker, IReadOnlyList<string> sha256, CancellationToken cancellationToken)
    {
        var request = new FindMissingImagesRequest();
        request.Sha256.AddRange(sha256);
        var response = await RetriedAsync(worker, () => Client(worker).FindMissingImagesAsync(request, deadline: DateTime.UtcNow + TransferTimeout,
            cancellationToken: cancellationToken).ResponseAsync, cancellationToken);
        return [.. response.MissingSha256];
    }

    /// <summary>Uploads images in batches of <paramref name="batchSize"/>; the worker verifies and decodes each.</summary>
    /// <param name="read">Reads an image's bytes from the web's store by hash.</param>
    /// <exception cref="WorkerRefusedException">InvalidInput: the worker rejected images (the first five named with reasons).</exception>
    public async Task UploadImagesAsync(WorkerNode worker, IReadOnlyList<string> sha256, Func<string, CancellationToken, Task<byte[]>> read,
        int batchSize, CancellationToken cancellationToken)
    {
        var rejected = new List<ImageRejection>();
        foreach (var batch in sha256.Chunk(batchSize))
        {
            var response = await CallAsync(worker, async () =>
            {
                using var upload = Client(worker).UploadImages(cancellationToken: cancellationToken);
                foreach (var sha in batch)
                    await upload.RequestStream.WriteAsync(new UploadImagesRequest { Sha256 = sha, Name = sha, Data = ByteString.CopyFrom(await read(sha, cancellationToken)) },
                        cancellationToken);
                await upload.RequestStream.CompleteAsync();
                return await upload;
            }, cancellationToken);
            rejected.AddRange(response.Rejected);
        }
        if (rejected.Count > 0)
            throw new WorkerRefusedException(worker.Name, RefusalKind.InvalidInput, $"The worker rejected {rejected.Count} image(s): " +
                string.Join("; ", rejected.Take(5).Select(r => $"{r.Sha256[..Math.Min(12, r.Sha256.Length)]}: {r.Reason}")));
    }

    /// <summary>Starts a run attempt and streams its events until it ends or the connection breaks.</summary>
    /// <param name="spec">The stored spec (<see cref="RunSpec.Encode"/>).</param>
    /// <param name="classNames">The run's classes, in model-output order (for its evaluation).</param>
    public IAsyncEnumerable<RunEvent> StartRunAsync(WorkerNode worker, byte[] spec, string workerJobId, IReadOnlyList<string> classNames,
        CancellationToken cancellationToken) =>
        EventsAsync(worker, () => Client(worker).StartJob(RunSpec.ForAttempt(spec, workerJobId), cancellationToken: cancellationToken),
            classNames, cancellationToken);

    /// <summary>Re-attaches to a run attempt: the events after epoch <paramref name="afterEpoch"/>, then live.</summary>
    public IAsyncEnumerable<RunEvent> WatchRunAsync(WorkerNode worker, string workerJobId, int afterEpoch, IReadOnlyList<string> classNames,
        CancellationToken cancellationToken) =>
        EventsAsync(worker, () => Client(worker).WatchJob(new WatchJobRequest { JobId = workerJobId, AfterEpoch = afterEpoch },
            cancellationToken: cancellationToken), classNames, cancellationToken);

    /// <summary>Asks the worker to stop a run attempt after its current batch (its "cancelled" event follows).</summary>
    public Task CancelRunAsync(WorkerNode worker, string workerJobId, CancellationToken cancellationToken) =>
        RetriedAsync(worker, () => Client(worker).CancelJobAsync(new CancelJobRequest { JobId = workerJobId },
            deadline: DateTime.UtcNow + ShortCallTimeout, cancellationToken: cancellationToken).ResponseAsync, cancellationToken);

    /// <summary>Streams a trained model (zip) from the worker into <paramref name="target"/>.</summary>
    public Task CopyModelAsync(WorkerNode worker, string modelId, Stream target, CancellationToken cancellationToken) =>
        CallAsync(worker, async () =>
        {
            using var call = Client(worker).DownloadModel(new DownloadModelRequest { ModelId = modelId }, cancellationToken: cancellationToken);
            await foreach (var chunk in call.ResponseStream.ReadAllAsync(cancellationToken))
                await target.WriteAsync(chunk.Data.Memory, cancellationToken);
            return true;
        }, cancellationToken);

    /// <summary>The learning-rate range test of a run spec (<see cref="RunSpec.Encode"/>) on a worker that has its images:
    /// up to <paramref name="steps"/> mini-batches (0 = 100) at rates from 1e-7 to 10; nothing is kept.</summary>
    /// <exception cref="WorkerRefusedException">InvalidInput: the worker refuses the settings (its reason); Precondition:
    /// images missing or the loss not finite from the start.</exception>
    public async Task<LearningRateCurve> FindLearningRateAsync(WorkerNode worker, byte[] spec, int steps, CancellationToken cancellationToken)
    {
        var parsed = JobSpec.Parser.ParseFrom(spec);
        parsed.JobId = "lr-finder"; // a label only: the range test is not a job
        var request = new FindLearningRateRequest { Spec = parsed, Steps = steps };
        var response = await CallAsync(worker, () => Client(worker).FindLearningRateAsync(request, deadline: DateTime.UtcNow + TransferTimeout * 5,
            cancellationToken: cancellationToken).ResponseAsync, cancellationToken);
        return new LearningRateCurve([.. response.Points.Select(p => new LearningRateStep(p.LearningRate, p.Loss, p.SmoothedLoss))],
            response.Suggested, response.Minimum, response.Steepest, response.Explanation, response.Seconds, worker.Name);
    }

    /// <summary>Likely label errors and outliers among a run spec's images (<see cref="RunSpec.Encode"/>; every split) on a
    /// worker that has them: confident learning on out-of-fold probabilities of the frozen backbone's features.</summary>
    /// <exception cref="WorkerRefusedException">InvalidInput: the worker refuses the spec (its reason); Precondition: images missing.</exception>
    public async Task<LabelIssueResult> FindLabelIssuesAsync(WorkerNode worker, byte[] spec, CancellationToken cancellationToken)
    {
        var parsed = JobSpec.Parser.ParseFrom(spec);
        parsed.JobId = "label-issues"; // a label only: the search is not a job
        var request = new FindLabelIssuesRequest { Spec = parsed };
        var response = await CallAsync(worker, () => Client(worker).FindLabelIssuesAsync(request, deadline: DateTime.UtcNow + TransferTimeout * 5,
            cancellationToken: cancellationToken).ResponseAsync, cancellationToken);
        return new LabelIssueResult([.. response.Issues.Select(i => new FlaggedImage(i.Sha256, i.GivenClassIndex, i.SuggestedClassIndex, i.SelfConfidence,
            i.SuggestedProbability, i.LikelyMislabelled, i.Outlier))], response.Folds, response.OutOfFoldAccuracy, response.Method, response.Seconds, worker.Name);
    }

    /// <summary>Most images per <see cref="EmbedImagesAsync"/> call (the worker's limit, worker.proto EmbedImages).</summary>
    public const int MaxEmbedImages = 1024;

    /// <summary>Unit-length embeddings (cosine = dot product) of images already on the worker, for near-duplicate search:
    /// the pretrained <paramref name="backbone"/>'s two last stages pooled, image and mirror image averaged.</summary>
    /// <param name="sha256">1..<see cref="MaxEmbedImages"/> distinct content hashes.</param>
    /// <exception cref="WorkerRefusedException">InvalidInput: the request (its reason, e.g. a backbone without pretrained
    /// weights); Precondition: images missing.</exception>
    public async Task<ImageEmbeddings> EmbedImagesAsync(WorkerNode worker, string backbone, int imageSize, IReadOnlyList<string> sha256,
        CancellationToken cancellationToken)
    {
        var request = new EmbedImagesRequest { Backbone = backbone, ImageSize = imageSize, ResizeMode = ResizeMode.Squash, Sha256 = { sha256 } };
        var response = await CallAsync(worker, () => Client(worker).EmbedImagesAsync(request, deadline: DateTime.UtcNow + TransferTimeout * 5,
            cancellationToken: cancellationToken).ResponseAsync, cancellationToken);
        return new ImageEmbeddings(response.Embeddings.ToDictionary(e => e.Sha256, e => e.Vector.ToArray()), response.Dim, response.Method,
            response.Cached, response.Seconds, worker.Name);
    }

    /// <summary>The top <paramref name="topK"/> classes of an image under a stored model (calibrated probabilities, most
    /// probable first) and the model's temperature (1 from a worker that predates calibration); a worker that lacks the
    /// model gets it first from <paramref name="openModel"/> (results outlive the worker that trained them).</summary>
    /// <exception cref="WorkerRefusedException">InvalidInput: the image cannot be used (its reason).</exception>
    public async Task<(IReadOnlyList<(string ClassName, double Probability)> Top, double Temperature)> PredictAsync(WorkerNode worker, string modelId, byte[] image, int topK,
        Func<Stream> openModel, CancellationToken cancellationToken)
    {
        var request = new PredictRequest { ModelId = modelId, Image = ByteString.CopyFrom(image), TopK = topK };
        Task<PredictResponse> Predict() => RetriedAsync(worker, () => Client(worker).PredictAsync(request, deadline: DateTime.UtcNow + ModelTimeout,
            cancellationToken: cancellationToken).ResponseAsync, cancellationToken);
        PredictResponse response;
        try
        {
            response = await Predict();
        }
        catch (WorkerRefusedException e) when (e.Kind == RefusalKind.NotFound)
        {
            await UploadModelAsync(worker, modelId, openModel, cancellationToken);
            response = await Predict();
        }
        return ([.. response.Top.Select(t => (t.ClassName, (double)t.Probability))], response.Temperature > 0 ? response.Temperature : 1);
    }

    /// <summary>Grad-CAM heatmaps of an image under a stored model for the classes <paramref name="classIndices"/> (indices into
    /// the model's classes; empty = the predicted class); a worker that lacks the model gets it first from
    /// <paramref name="openModel"/>.</summary>
    /// <exception cref="WorkerRefusedException">InvalidInput: the image cannot be used, or a class index is out of range (the reason).</exception>
    public async Task<ImageExplanation> ExplainAsync(WorkerNode worker, string modelId, byte[] image, IReadOnlyList<int> classIndices,
        Func<Stream> openModel, CancellationToken cancellationToken)
    {
        var request = new ExplainRequest { ModelId = modelId, Image = ByteString.CopyFrom(image) };
        request.ClassIndices.AddRange(classIndices);
        Task<ExplainResponse> Explain() => RetriedAsync(worker, () => Client(worker).ExplainAsync(request, deadline: DateTime.UtcNow + ModelTimeout,
            cancellationToken: cancellationToken).ResponseAsync, cancellationToken);
        ExplainResponse response;
        try
        {
            response = await Explain();
        }
        catch (WorkerRefusedException e) when (e.Kind == RefusalKind.NotFound)
        {
            await UploadModelAsync(worker, modelId, openModel, cancellationToken);
            response = await Explain();
        }
        return new ImageExplanation(response.PredictedClassName, response.ImageWidth, response.ImageHeight, response.MapHeight, response.MapWidth,
            response.InputSize, response.Layer, response.ResizeMode == ResizeMode.CenterCrop,
            [.. response.Explanations.Select(e => new ClassHeatmap(e.ClassIndex, e.ClassName, e.Probability, e.Png.ToByteArray(), [.. e.Map], e.PeakX, e.PeakY))]);
    }

    /// <summary>The stored model exported to ONNX (opset 17: backbone, head and softmax, the backbone's normalisation
    /// inside, input float32 [N,3,H,W] RGB 0–255) streamed into <paramref name="target"/>; <paramref name="metadata"/> is
    /// added to its metadata_props. A worker that lacks the model gets it first from <paramref name="openModel"/>.</summary>
    public Task ExportOnnxAsync(WorkerNode worker, string modelId, IReadOnlyDictionary<string, string> metadata, Func<Stream> openModel,
        Stream target, CancellationToken cancellationToken) =>
        ExportOnnxAsync(worker, new ExportOnnxRequest { ModelId = modelId }, [(modelId, openModel)], metadata, target, cancellationToken);

    /// <summary>An ensemble of stored models exported as ONE ONNX graph (same input contract; probabilities = the mean of
    /// the members' probabilities; metadata ensemble_members lists them) streamed into <paramref name="target"/>. The
    /// members must share classes, image size and resize mode (else <see cref="RefusalKind.InvalidInput"/> with every
    /// difference). A worker that lacks any member gets every member first (its refusal names them only in words).</summary>
    public Task ExportEnsembleOnnxAsync(WorkerNode worker, string ensembleId, IReadOnlyList<(string ModelId, Func<Stream> Open)> members,
        IReadOnlyDictionary<string, string> metadata, Stream target, CancellationToken cancellationToken)
    {
        var request = new ExportOnnxRequest { EnsembleId = ensembleId };
        request.MemberModelIds.AddRange(members.Select(m => m.ModelId));
        return ExportOnnxAsync(worker, request, members, metadata, target, cancellationToken);
    }

    private async Task ExportOnnxAsync(WorkerNode worker, ExportOnnxRequest request, IReadOnlyList<(string ModelId, Func<Stream> Open)> models,
        IReadOnlyDictionary<string, string> metadata, Stream target, CancellationToken cancellationToken)
    {
        foreach (var (key, value) in metadata) request.Metadata[key] = value;
        Task<bool> Export() => CallAsync(worker, async () =>
        {
            target.SetLength(0);
            using var call = Client(worker).ExportOnnx(request, deadline: DateTime.UtcNow + TransferTimeout, cancellationToken: cancellationToken);
            await foreach (var chunk in call.ResponseStream.ReadAllAsync(cancellationToken))
                await target.WriteAsync(chunk.Data.Memory, cancellationToken);
            return true;
        }, cancellationToken);
        try
        {
            await Export();
        }
        catch (WorkerRefusedException e) when (e.Kind == RefusalKind.NotFound)
        {
            foreach (var (modelId, open) in models) await UploadModelAsync(worker, modelId, open, cancellationToken);
            await Export();
        }
    }

    /// <summary><paramref name="count"/> augmented variants of an image as PNGs of <paramref name="imageSize"/>² pixels,
    /// rendered by the training pipeline with the run's resize mode (<paramref name="centerCrop"/> or squash).</summary>
    public async Task<IReadOnlyList<byte[]>> PreviewAsync(WorkerNode worker, byte[] image, AugmentationForm form, int imageSize, bool centerCrop,
        int count, long seed, CancellationToken cancellationToken)
    {
        var request = new PreviewAugmentationsRequest
        {
            Image = ByteString.CopyFrom(image),
            Augmentation = RunSpec.ToWire(form),
            Count = count,
            Seed = seed,
            ImageSize = imageSize,
            ResizeMode = RunSpec.ToWire(centerCrop),
        };
        var response = await RetriedAsync(worker, () => Client(worker).PreviewAugmentationsAsync(request, deadline: DateTime.UtcNow + ShortCallTimeout * 2,
            cancellationToken: cancellationToken).ResponseAsync, cancellationToken);
        return [.. response.Png.Select(p => p.ToByteArray())];
    }

    /// <summary>Runs <paramref name="call"/> on each worker in turn until one answers: a worker that cannot be reached or
    /// refuses for its own reasons (busy, missing something) is skipped; a refusal of the input itself
    /// (<see cref="RefusalKind.InvalidInput"/>) ends the search, since every worker would say the same.</summary>
    /// <exception cref="NoWorkerAnsweredException">None answered; names each worker's problem.</exception>
    public static async Task<(T Result, WorkerNode Worker)> FirstAnsweringAsync<T>(IReadOnlyList<WorkerNode> workers,
        Func<WorkerNode, Task<T>> call)
    {
        var problems = new List<string>();
        foreach (var worker in workers)
        {
            try
            {
                return (await call(worker), worker);
            }
            catch (WorkerUnavailableException)
            {
                problems.Add($"{worker.Name}: not reachable");
            }
            catch (WorkerRefusedException e) when (e.Kind != RefusalKind.InvalidInput)
            {
                problems.Add($"{worker.Name}: {e.Detail}");
            }
        }
        throw new NoWorkerAnsweredException(problems);
    }

    private async Task UploadModelAsync(WorkerNode worker, string modelId, Func<Stream> openModel, CancellationToken cancellationToken) =>
        await CallAsync(worker, async () =>
        {
            using var call = Client(worker).UploadModel(deadline: DateTime.UtcNow + ModelTimeout, cancellationToken: cancellationToken);
            await using var stream = openModel();
            var buffer = new byte[ModelChunkBytes];
            int read;
            var first = true;
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await call.RequestStream.WriteAsync(new UploadModelRequest { ModelId = first ? modelId : "", Data = ByteString.CopyFrom(buffer, 0, read) },
                    cancellationToken);
                first = false;
            }
            await call.RequestStream.CompleteAsync();
            return await call;
        }, cancellationToken);

    private async IAsyncEnumerable<RunEvent> EventsAsync(WorkerNode worker, Func<AsyncServerStreamingCall<JobEvent>> open,
        IReadOnlyList<string> classNames, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var call = await CallAsync(worker, () => Task.FromResult(open()), cancellationToken);
        while (true)
        {
            var more = await CallAsync(worker, () => call.ResponseStream.MoveNext(cancellationToken), cancellationToken);
            if (!more) yield break;
            if (RunEvents.From(call.ResponseStream.Current, classNames) is { } runEvent) yield return runEvent;
        }
    }

    private WorkerService.WorkerServiceClient Client(WorkerNode worker) => channels.Client(worker.Address, tokens.Unprotect(worker.ProtectedToken));

    private Task<T> RetriedAsync<T>(WorkerNode worker, Func<Task<T>> call, CancellationToken cancellationToken) =>
        Idempotent.ExecuteAsync(async _ => await CallAsync(worker, call, cancellationToken), cancellationToken).AsTask();

    /// <summary>Runs one gRPC call and turns its failures into the gateway's exceptions.</summary>
    private async Task<T> CallAsync<T>(WorkerNode worker, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call();
        }
        catch (RpcException e) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The call was cancelled by its caller.", e, cancellationToken);
        }
        catch (RpcException e)
        {
            var detail = e.Status.Detail;
            switch (e.StatusCode)
            {
                case StatusCode.InvalidArgument: throw new WorkerRefusedException(worker.Name, RefusalKind.InvalidInput, detail, e);
                case StatusCode.NotFound: throw new WorkerRefusedException(worker.Name, RefusalKind.NotFound, detail, e);
                case StatusCode.ResourceExhausted: throw new WorkerRefusedException(worker.Name, RefusalKind.Busy, detail, e);
                case StatusCode.FailedPrecondition: throw new WorkerRefusedException(worker.Name, RefusalKind.Precondition, detail, e);
                case StatusCode.Unauthenticated or StatusCode.PermissionDenied:
                    throw new WorkerRefusedException(worker.Name, RefusalKind.Unauthenticated,
                        "the worker refused the token (Unauthenticated): check that it matches the worker's Worker:Token.", e);
                case StatusCode.DeadlineExceeded:
                    throw new WorkerUnavailableException(worker.Name, "it did not answer in time.", e);
                case StatusCode.Unavailable or StatusCode.Cancelled or StatusCode.Aborted or StatusCode.Internal or StatusCode.Unknown
                    or StatusCode.DataLoss:
                    logger.LogDebug(e, "Call to {Worker} broke: {Status}", worker.Name, e.StatusCode);
                    throw new WorkerUnavailableException(worker.Name, string.IsNullOrEmpty(detail) ? e.StatusCode.ToString() : detail, e);
                default:
                    throw new WorkerRefusedException(worker.Name, RefusalKind.Other, $"{e.StatusCode}: {detail}", e);
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
        {
            throw new WorkerUnavailableException(worker.Name, e.Message, e);
        }
    }
}

/// <summary>No worker could do it; <see cref="Problems"/> says why for each ("name: reason").</summary>
public sealed class NoWorkerAnsweredException(IReadOnlyList<string> problems)
    : Exception(problems.Count == 0 ? "No worker is enabled." : $"No worker could do it ({string.Join("; ", problems)}).")
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
