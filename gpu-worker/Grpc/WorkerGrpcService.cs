using System.Reflection;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Options;
using TransferHub.Worker.Engine;
using TransferHub.Worker.Engine.Autopilot;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Evaluation;
using TransferHub.Worker.Engine.Export;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Jobs;
using TransferHub.Worker.Storage;
using TransferHub.Worker.V1;
using TransferHub.Imaging;

namespace TransferHub.Worker.Grpc;

/// <summary>The v1 worker contract: thin adapters over the engine, the job runner and the stores.</summary>
public sealed class WorkerGrpcService(
    IOptions<WorkerOptions> options,
    TorchRuntime runtime,
    BackboneRegistry backbones,
    ImageStore images,
    ModelStore models,
    JobRunner jobs,
    Predictor predictor,
    OnnxExporter onnxExporter,
    FeatureCache featureCache) : WorkerService.WorkerServiceBase
{
    private const int MaxRangeTestSteps = 500;

    private const int MaxImageBytes = 64 * 1024 * 1024;
    private const int MaxPreviewCount = 64;
    private const int ModelChunkBytes = 256 * 1024;
    private const long MaxModelBytes = 2L * 1024 * 1024 * 1024;

    public override Task<WorkerInfo> GetInfo(GetInfoRequest request, ServerCallContext context)
    {
        var info = new WorkerInfo
        {
            Name = options.Value.Name,
            Version = typeof(WorkerGrpcService).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown",
            DeviceKind = runtime.Kind,
            DeviceName = runtime.DeviceName,
            MemoryBytes = runtime.MemoryBytes,
            TorchVersion = TorchRuntime.TorchVersion,
            Capacity = jobs.Capacity,
            CpuThreads = runtime.Threads,
            FeatureImagesPerSecond = FeatureThroughput.PassesPerSecond ?? 0,
        };
        info.RunningJobIds.AddRange(jobs.RunningJobIds);
        info.Backbones.AddRange(backbones.Descriptors.Select(d => new BackboneInfo
        {
            Name = d.Name,
            DisplayName = d.DisplayName,
            InputSize = d.InputSize,
            Parameters = d.Parameters,
            WeightsSource = d.WeightsSource,
            WeightsLicence = d.WeightsLicence,
            Pretrained = d.Pretrained,
            FeatureDim = d.FeatureDim,
            Stages = d.Stages,
            Error = d.Error ?? "",
        }));
        return Task.FromResult(info);
    }

    public override Task<FindMissingImagesResponse> FindMissingImages(FindMissingImagesRequest request, ServerCallContext context)
    {
        var response = new FindMissingImagesResponse();
        response.MissingSha256.AddRange(images.FindMissing(request.Sha256));
        return Task.FromResult(response);
    }

    public override async Task<UploadImagesResponse> UploadImages(IAsyncStreamReader<UploadImagesRequest> requestStream, ServerCallContext context)
    {
        var response = new UploadImagesResponse();
        string? sha = null, name = null;
        var buffer = new MemoryStream();
        var tooLarge = false;

        void Finish()
        {
            if (sha is null) return;
            if (tooLarge)
                response.Rejected.Add(new ImageRejection { Sha256 = sha, Name = name, Reason = $"larger than the {MaxImageBytes / (1024 * 1024)} MiB limit" });
            else
            {
                try
                {
                    images.Add(sha, name!, buffer.ToArray());
                    response.Accepted++;
                }
                catch (ImageDecodeException e)
                {
                    response.Rejected.Add(new ImageRejection { Sha256 = sha, Name = name, Reason = e.Reason });
                }
            }
            buffer.SetLength(0);
            tooLarge = false;
        }

        await foreach (var chunk in requestStream.ReadAllAsync(context.CancellationToken))
        {
            if (!string.IsNullOrEmpty(chunk.Sha256) && chunk.Sha256 != sha)
            {
                Finish();
                sha = chunk.Sha256;
                name = string.IsNullOrEmpty(chunk.Name) ? chunk.Sha256 : chunk.Name;
            }
            if (sha is null)
                throw new RpcException(new Status(StatusCode.InvalidArgument, "The first UploadImages message must name the image's sha256."));
            if (buffer.Length + chunk.Data.Length > MaxImageBytes) tooLarge = true;
            else chunk.Data.WriteTo(buffer);
        }
        Finish();
        return response;
    }

    public override async Task StartJob(JobSpec request, IServerStreamWriter<JobEvent> responseStream, ServerCallContext context)
    {
        var spec = JobSpecMapper.ToTrainingSpec(request, backbones, images);
        JobRun run;
        try
        {
            run = jobs.Start(spec, Telemetry.CallerContext(context.RequestHeaders.GetValue("traceparent"), context.RequestHeaders.GetValue("tracestate")));
        }
        catch (WorkerBusyException e)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted, e.Message));
        }
        await Stream(run, 0, responseStream, context);
    }

    public override async Task<FindLearningRateResponse> FindLearningRate(FindLearningRateRequest request, ServerCallContext context)
    {
        if (request.Spec is null) throw new RpcException(new Status(StatusCode.InvalidArgument, "spec is required: the job whose learning rate to find."));
        if (request.Steps is < 0 or > MaxRangeTestSteps)
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"steps must be 0 (= 100) to {MaxRangeTestSteps}; got {request.Steps}."));
        var spec = JobSpecMapper.ToTrainingSpec(request.Spec, backbones, images);
        if (spec.Mode == TrainingMode.Auto)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "Auto mode has no learning rate to find: its classifiers are trained to convergence."));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // libtorch work on a thread of its own, like a job's; the client's cancellation stops it within a batch.
        var test = await Task.Factory.StartNew(
            () => new Trainer(backbones, images, featureCache, runtime.Device).FindLearningRate(spec, request.Steps == 0 ? 100 : request.Steps,
                IgnoringObserver.Instance, context.CancellationToken),
            context.CancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        if (test.Points.Count < 3)
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"The range test stopped after {test.Points.Count} step(s): the loss was not finite from the smallest rates on. Check the data."));
        var suggestion = test.Suggest();
        var response = new FindLearningRateResponse
        {
            Suggested = suggestion.Suggested,
            Minimum = suggestion.Minimum,
            Steepest = suggestion.Steepest,
            Explanation = suggestion.Explanation,
            Seconds = clock.Elapsed.TotalSeconds,
        };
        response.Points.AddRange(test.Points.Select(p => new LearningRatePoint { LearningRate = p.LearningRate, Loss = p.Loss, SmoothedLoss = p.SmoothedLoss }));
        return response;
    }

    public override async Task<FindLabelIssuesResponse> FindLabelIssues(FindLabelIssuesRequest request, ServerCallContext context)
    {
        if (request.Spec is null) throw new RpcException(new Status(StatusCode.InvalidArgument, "spec is required: the images whose labels to check."));
        // The split does not matter here: every image is checked, and a spec without train images is as good as any.
        var wire = request.Spec.Clone();
        foreach (var item in wire.Items) item.Split = Split.Train;
        wire.Mode = JobMode.Auto;
        var spec = JobSpecMapper.ToTrainingSpec(wire, backbones, images);
        if (spec.Items.Select(i => i.ClassIndex).Distinct().Count() < 2)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "Label issues need images of at least 2 classes."));
        // libtorch work on a thread of its own, like a job's; the client's cancellation stops it between batches and folds.
        var report = await Task.Factory.StartNew(() =>
        {
            var set = new AutopilotTrainer(backbones, images, featureCache, runtime.Device).Features(spec, IgnoringObserver.Instance, context.CancellationToken);
            return LabelIssueSearch.Find(set, new LabelIssueOptions { Seed = spec.Seed }, cancellationToken: context.CancellationToken);
        }, context.CancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var response = new FindLabelIssuesResponse
        {
            Folds = report.Folds,
            OutOfFoldAccuracy = report.OutOfFoldAccuracy,
            Method = $"{report.Classifier}; {report.Folds}-fold out-of-fold probabilities; confident learning, {report.Filter}",
            OutlierCutoff = report.OutlierCutoff,
            Seconds = report.Seconds,
        };
        response.Issues.AddRange(report.Verdicts.Select(v => new LabelIssue
        {
            Sha256 = spec.Items[v.Index].Sha256,
            GivenClassIndex = v.Given,
            SuggestedClassIndex = v.Suggested,
            SelfConfidence = v.SelfConfidence,
            SuggestedProbability = v.SuggestedProbability,
            LikelyMislabelled = v.LabelIssue,
            Outlier = v.Outlier,
            OutlierDistance = v.OutlierDistance,
        }));
        response.OutOfFoldProbabilities.AddRange(report.OutOfFold.SelectMany(p => p));
        var k = spec.ClassNames.Count;
        for (var i = 0; i < k; i++)
            for (var j = 0; j < k; j++) response.ConfidentJoint.Add(report.Joint.Joint[i, j]);
        return response;
    }

    /// <summary>Most images per EmbedImages call (worker.proto): 1,024 × 768 floats ≈ 3 MB back.</summary>
    public const int MaxEmbedImages = 1024;

    public override async Task<EmbedImagesResponse> EmbedImages(EmbedImagesRequest request, ServerCallContext context)
    {
        var descriptor = backbones.Descriptors.FirstOrDefault(d => d.Name == request.Backbone)
            ?? throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"Unknown backbone '{request.Backbone}'. Available: {string.Join(", ", backbones.Descriptors.Where(d => d.Error is null).Select(d => d.Name))}."));
        if (descriptor.Error is not null)
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"Backbone '{descriptor.Name}' cannot be used: {descriptor.Error}"));
        var errors = new List<string>();
        if (!descriptor.Pretrained) errors.Add($"backbone '{descriptor.Name}' has no pretrained weights: its features say nothing about what a picture shows");
        if (request.Sha256.Count is 0 or > MaxEmbedImages) errors.Add($"sha256 needs 1 to {MaxEmbedImages} images; got {request.Sha256.Count}");
        if (request.Sha256.FirstOrDefault(h => !ContentHash.IsSha256(h)) is { } bad) errors.Add($"'{bad}' is not a lower-case hex SHA-256");
        if (request.Sha256.GroupBy(h => h).FirstOrDefault(g => g.Count() > 1) is { } twice) errors.Add($"image {twice.Key} appears {twice.Count()} times");
        if (request.ImageSize is not 0 and (< 32 or > 1024)) errors.Add($"image_size must be 32..1024 (0 = the backbone's); got {request.ImageSize}");
        if (request.BatchSize is < 0 or > 1024) errors.Add($"batch_size must be 0..1024; got {request.BatchSize}");
        if (errors.Count > 0) throw new RpcException(new Status(StatusCode.InvalidArgument, "Invalid embedding request: " + string.Join("; ", errors) + "."));
        var missing = images.FindMissing(request.Sha256);
        if (missing.Count > 0)
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"{missing.Count} image(s) are not on this worker (first: {missing[0]}); upload them with UploadImages first."));
        // The features an auto run computes and caches (same backbone, size, resize mode): one class, every image "train".
        var spec = new TrainingSpec
        {
            JobId = "embed",
            Items = [.. request.Sha256.Select(h => new DatasetEntry(h, 0, DataSplit.Train))],
            ClassNames = ["image"],
            Backbone = descriptor.Name,
            Mode = TrainingMode.Auto,
            ImageSize = request.ImageSize != 0 ? request.ImageSize : descriptor.InputSize,
            Resize = JobSpecMapper.ToResize(request.ResizeMode),
            BatchSize = request.BatchSize != 0 ? request.BatchSize : 32,
        };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var cached = 0;
        var embeddings = await Task.Factory.StartNew(() => Engine.Inference.ImageEmbeddings.Of(
                new AutopilotTrainer(backbones, images, featureCache, runtime.Device).Features(spec, IgnoringObserver.Instance, context.CancellationToken, n => cached = n)),
            context.CancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        var response = new EmbedImagesResponse
        {
            Dim = embeddings[0].Length,
            Method = Engine.Inference.ImageEmbeddings.Describe(descriptor.Name, spec.ImageSize, spec.Resize),
            Cached = cached,
            Seconds = clock.Elapsed.TotalSeconds,
        };
        response.Embeddings.AddRange(request.Sha256.Select((h, i) => new ImageEmbedding { Sha256 = h, Vector = { embeddings[i] } }));
        return response;
    }

    public override Task WatchJob(WatchJobRequest request, IServerStreamWriter<JobEvent> responseStream, ServerCallContext context) =>
        Stream(FindJob(request.JobId), request.AfterEpoch, responseStream, context);

    public override Task<CancelJobResponse> CancelJob(CancelJobRequest request, ServerCallContext context)
    {
        FindJob(request.JobId);
        return Task.FromResult(new CancelJobResponse { Cancelled = jobs.Cancel(request.JobId) });
    }

    public override Task<JobStatus> GetJobStatus(GetJobStatusRequest request, ServerCallContext context)
    {
        var run = FindJob(request.JobId);
        return Task.FromResult(new JobStatus
        {
            JobId = run.JobId,
            State = run.State,
            EpochsDone = run.EpochsDone,
            EpochsTotal = run.Spec.Epochs,
            ModelId = run.ModelId,
            Message = run.Message,
            FailureCode = run.FailureCode,
        });
    }

    public override Task<PreviewAugmentationsResponse> PreviewAugmentations(PreviewAugmentationsRequest request, ServerCallContext context)
    {
        var augmentation = JobSpecMapper.ToAugmentation(request.Augmentation);
        var errors = augmentation.Validate().ToList();
        if (request.Count is < 1 or > MaxPreviewCount) errors.Add($"count must be 1..{MaxPreviewCount}; got {request.Count}");
        if (request.ImageSize != 0 && request.ImageSize is < Contracts.Jobs.JobRules.MinImageSize or > Contracts.Jobs.JobRules.MaxImageSize)
            errors.Add($"image_size must be {Contracts.Jobs.JobRules.MinImageSize}..{Contracts.Jobs.JobRules.MaxImageSize} " +
                $"(0 = {Contracts.Jobs.JobDefaults.ImageSize}); got {request.ImageSize}");
        if (errors.Count > 0) throw new RpcException(new Status(StatusCode.InvalidArgument, string.Join("; ", errors)));

        var size = request.ImageSize > 0 ? request.ImageSize : Contracts.Jobs.JobDefaults.ImageSize;
        using var image = Decode(request.Image.Span, "the preview image");
        var pipeline = new TransformPipeline(size, JobSpecMapper.ToResize(request.ResizeMode), augmentation, Normalization.ImageNet);
        var response = new PreviewAugmentationsResponse();
        // Variant i is exactly what training renders for item i of epoch 0 with the same seed.
        for (var i = 0; i < request.Count; i++)
            response.Png.Add(ByteString.CopyFrom(TransformPipeline.EncodePng(
                pipeline.Render(image, augmentation.IsNone ? null : TransformPipeline.SampleSeed(request.Seed, 0, i)), size)));
        return Task.FromResult(response);
    }

    public override Task<PredictResponse> Predict(PredictRequest request, ServerCallContext context)
    {
        if (!models.Exists(request.ModelId))
            throw new RpcException(new Status(StatusCode.NotFound, $"No model '{request.ModelId}' on this worker."));
        try
        {
            var prediction = predictor.Predict(request.ModelId, request.Image.ToByteArray(), request.TopK);
            var response = new PredictResponse { Temperature = prediction.Temperature };
            response.Top.AddRange(prediction.Top
                .Select(p => new V1.ClassProbability { ClassIndex = p.ClassIndex, ClassName = p.ClassName, Probability = p.Probability }));
            return Task.FromResult(response);
        }
        catch (ImageDecodeException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }
        catch (WeightFileException e)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, e.Message));
        }
    }

    public override async Task<ExplainResponse> Explain(ExplainRequest request, ServerCallContext context)
    {
        if (!models.Exists(request.ModelId))
            throw new RpcException(new Status(StatusCode.NotFound, $"No model '{request.ModelId}' on this worker."));
        try
        {
            // libtorch work (a backward pass per class) off the request thread, no await inside.
            var explanation = await Task.Run(() => predictor.Explain(request.ModelId, request.Image.ToByteArray(), [.. request.ClassIndices]),
                context.CancellationToken);
            var response = new ExplainResponse
            {
                PredictedClassIndex = explanation.PredictedClassIndex,
                PredictedClassName = explanation.PredictedClassName,
                ImageWidth = explanation.ImageWidth,
                ImageHeight = explanation.ImageHeight,
                MapHeight = explanation.MapHeight,
                MapWidth = explanation.MapWidth,
                InputSize = explanation.InputSize,
                Layer = explanation.Layer,
                ResizeMode = JobSpecMapper.ToWire(explanation.Resize),
            };
            response.Explanations.AddRange(explanation.Classes.Select(c =>
            {
                var wire = new V1.ClassExplanation
                {
                    ClassIndex = c.ClassIndex,
                    ClassName = c.ClassName,
                    Probability = c.Probability,
                    Png = ByteString.CopyFrom(c.Png),
                    PeakX = c.PeakX,
                    PeakY = c.PeakY,
                };
                wire.Map.AddRange(c.Map);
                return wire;
            }));
            return response;
        }
        catch (FileNotFoundException e)
        {
            throw new RpcException(new Status(StatusCode.NotFound, e.Message));
        }
        catch (Exception e) when (e is ImageDecodeException or ClassSelectionException)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }
        catch (WeightFileException e)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, e.Message));
        }
    }

    public override async Task<UploadModelResponse> UploadModel(IAsyncStreamReader<UploadModelRequest> requestStream, ServerCallContext context)
    {
        string? modelId = null;
        var temp = Path.GetTempFileName();
        try
        {
            long size = 0;
            await using (var file = File.Create(temp))
            {
                await foreach (var chunk in requestStream.ReadAllAsync(context.CancellationToken))
                {
                    if (modelId is null)
                    {
                        modelId = chunk.ModelId;
                        if (!ModelStore.IsValidId(modelId))
                            throw new RpcException(new Status(StatusCode.InvalidArgument, "The first UploadModel message must name a model_id: 1-64 letters, digits, '-' or '_'."));
                    }
                    size += chunk.Data.Length;
                    if (size > MaxModelBytes)
                        throw new RpcException(new Status(StatusCode.InvalidArgument, $"The model is larger than {MaxModelBytes / 1024 / 1024} MiB."));
                    chunk.Data.WriteTo(file);
                }
            }
            if (modelId is null) throw new RpcException(new Status(StatusCode.InvalidArgument, "No model was sent."));
            await using (var check = File.OpenRead(temp))
            {
                try
                {
                    var metadata = ModelArtifact.ReadMetadata(check);
                    if (!backbones.Descriptors.Any(d => d.Name == metadata.Backbone && d.Error is null))
                        throw new RpcException(new Status(StatusCode.FailedPrecondition, $"This worker cannot run backbone '{metadata.Backbone}'."));
                }
                catch (Exception e) when (e is InvalidDataException or System.Text.Json.JsonException)
                {
                    throw new RpcException(new Status(StatusCode.InvalidArgument, $"Not a TransferHub model file: {e.Message}"));
                }
            }
            models.Save(modelId, destination =>
            {
                using var source = File.OpenRead(temp);
                source.CopyTo(destination);
            });
            return new UploadModelResponse { ModelId = modelId, Bytes = size };
        }
        finally
        {
            File.Delete(temp);
        }
    }

    public override async Task DownloadModel(DownloadModelRequest request, IServerStreamWriter<ModelChunk> responseStream, ServerCallContext context)
    {
        if (!models.Exists(request.ModelId))
            throw new RpcException(new Status(StatusCode.NotFound, $"No model '{request.ModelId}' on this worker."));
        await using var stream = models.OpenRead(request.ModelId);
        await StreamChunksAsync(stream, $"{request.ModelId}.zip", responseStream, context.CancellationToken);
    }

    /// <summary>Sends a file as <see cref="ModelChunk"/>s of <see cref="ModelChunkBytes"/>; the first names the file and
    /// its total size.</summary>
    private static async Task StreamChunksAsync(Stream stream, string fileName, IServerStreamWriter<ModelChunk> responseStream,
        CancellationToken cancellationToken)
    {
        var buffer = new byte[ModelChunkBytes];
        var first = true;
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
        {
            var chunk = new ModelChunk { Data = ByteString.CopyFrom(buffer, 0, read) };
            if (first)
            {
                chunk.TotalBytes = stream.Length;
                chunk.FileName = fileName;
                first = false;
            }
            await responseStream.WriteAsync(chunk, cancellationToken);
        }
    }

    public override async Task ExportOnnx(ExportOnnxRequest request, IServerStreamWriter<ModelChunk> responseStream, ServerCallContext context)
    {
        var ensemble = request.MemberModelIds.Count > 0;
        if (ensemble && request.ModelId.Length > 0)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "Set model_id (one model) or member_model_ids (an ensemble), not both."));
        if (!ensemble && request.EnsembleId.Length > 0)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "ensemble_id names an ensemble: set member_model_ids with it."));
        if (!ensemble && !models.Exists(request.ModelId))
            throw new RpcException(new Status(StatusCode.NotFound, $"No model '{request.ModelId}' on this worker."));
        var fileName = ensemble ? (request.EnsembleId.Length > 0 ? request.EnsembleId : OnnxExporter.DefaultEnsembleId) : request.ModelId;
        var temp = Path.GetTempFileName();
        try
        {
            // CPU-bound (loads the models, copies every weight): off the request thread, no await inside.
            await Task.Run(() =>
            {
                using var file = File.Create(temp);
                if (ensemble) onnxExporter.ExportEnsemble(request.EnsembleId, request.MemberModelIds, request.Metadata, file);
                else onnxExporter.Export(request.ModelId, request.Metadata, file);
            }, context.CancellationToken);

            await using var stream = File.OpenRead(temp);
            await StreamChunksAsync(stream, $"{fileName}.onnx", responseStream, context.CancellationToken);
        }
        catch (FileNotFoundException e) when (ensemble)
        {
            throw new RpcException(new Status(StatusCode.NotFound, e.Message));
        }
        catch (ArgumentException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }
        catch (WeightFileException e)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, e.Message));
        }
        catch (OnnxExportException e)
        {
            throw new RpcException(new Status(StatusCode.Unimplemented, e.Message));
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static async Task Stream(JobRun run, int afterEpoch, IServerStreamWriter<JobEvent> responseStream, ServerCallContext context)
    {
        try
        {
            await foreach (var jobEvent in run.Watch(afterEpoch, context.CancellationToken))
                await responseStream.WriteAsync(jobEvent, context.CancellationToken);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The client went away; the job goes on and can be watched again.
        }
    }

    private JobRun FindJob(string jobId) =>
        jobs.Find(jobId) ?? throw new RpcException(new Status(StatusCode.NotFound, $"No job '{jobId}' on this worker (it may have restarted)."));

    private DecodedImage Decode(ReadOnlySpan<byte> data, string name)
    {
        try
        {
            return ImageDecoder.Decode(data, name, options.Value.MaxImagePixels);
        }
        catch (ImageDecodeException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }
    }
}
