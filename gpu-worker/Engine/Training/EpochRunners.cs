using TorchSharp;
using TorchSharp.Modules;
using TransferHub.Worker.Engine.Evaluation;
using TransferHub.Worker.Engine.Transforms;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine.Training;

/// <summary>Each image's logits (the output of <see cref="ClassifierModel.forward"/>, [classes]) from one pass over a
/// split; probabilities are softmax(logits / T) for a temperature T (1 = the model's own).</summary>
public sealed class EvaluationPass(List<(string Sha256, int TrueClass, float[] Logits)> images)
{
    public IReadOnlyList<(string Sha256, int TrueClass, float[] Logits)> Images => images;

    /// <summary>Mean cross-entropy and accuracy at temperature 1 (NaN, NaN with no images).</summary>
    public (float Loss, float Accuracy) Summary
    {
        get
        {
            if (images.Count == 0) return (float.NaN, float.NaN);
            var probabilities = Probabilities(1);
            var loss = probabilities.Select((p, i) => -Math.Log(Math.Max(p[images[i].TrueClass], 1e-12f))).Average();
            var accuracy = images.Count(i => ClassificationReport.ArgMax(i.Logits) == i.TrueClass) / (float)images.Count;
            return ((float)loss, accuracy);
        }
    }

    /// <summary>softmax(logits / <paramref name="temperature"/>) of every image, in order.</summary>
    public List<float[]> Probabilities(double temperature) =>
        [.. images.Select(i => Contracts.Metrics.TemperatureScaling.Softmax(i.Logits, temperature))];

    public ClassificationReport ToReport(IReadOnlyList<string> classNames, double temperature = 1)
    {
        var probabilities = Probabilities(temperature);
        return ClassificationReport.From(classNames, [.. images.Select((i, n) => (i.Sha256, i.TrueClass, probabilities[n]))]);
    }
}

/// <summary>One training epoch's mean loss (nats per image) and accuracy (0–1) over the images it trained on.
/// <paramref name="Diverged"/>: a batch's loss was NaN or infinite, so the epoch stopped at that batch (its loss is
/// then that non-finite value folded into the mean, i.e. NaN or infinite too).</summary>
internal readonly record struct TrainPass(float Loss, float Accuracy, bool Diverged);

/// <summary>Disposing a runner frees its batch source's kept decoded images.</summary>
internal interface IEpochRunner : IDisposable
{
    /// <summary>Trains one epoch; stops at the first batch whose loss is not finite (see <see cref="TrainPass.Diverged"/>).</summary>
    /// <param name="afterBatch">Called with each batch's loss after its step; false ends the epoch there (the
    /// learning-rate range test sets the next batch's rate in it).</param>
    TrainPass TrainEpoch(IReadOnlyList<DatasetEntry> train, OptimizerHelper optimizer, int epoch, Func<float, bool>? afterBatch = null);
    EvaluationPass Evaluate(IReadOnlyList<DatasetEntry> items);
}

internal static class Shuffle
{
    /// <summary>A seeded permutation of 0..count-1 for one epoch (Fisher–Yates).</summary>
    public static int[] Order(int count, long seed, int epoch)
    {
        var order = Enumerable.Range(0, count).ToArray();
        var random = new Random(unchecked((int)TransformPipeline.SampleSeed(seed, epoch, -1)));
        random.Shuffle(order);
        return order;
    }
}

/// <summary>Frozen backbone: every image's features are computed once (or read from the cache), then each epoch
/// trains only the head on those features.</summary>
internal sealed class FeatureEpochRunner(ClassifierModel model, BatchSource source, FeatureCache cache, TrainingSpec spec,
    Device device, ITrainingObserver observer, CancellationToken cancellationToken, TrainingLoss trainingLoss) : IEpochRunner
{
    private Dictionary<string, float[]>? _features;

    public void Dispose() => source.Dispose();

    public TrainPass TrainEpoch(IReadOnlyList<DatasetEntry> train, OptimizerHelper optimizer, int epoch, Func<float, bool>? afterBatch = null)
    {
        var features = Features();
        var order = ClassBalancedSampler.EpochOrder(spec, train, epoch);
        model.Head.train();
        double lossSum = 0;
        long correct = 0, seen = 0;
        var dim = model.Backbone.Descriptor.FeatureDim;
        for (var start = 0; start < order.Length; start += spec.BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = Math.Min(spec.BatchSize, order.Length - start);
            var x = new float[count * dim];
            var y = new long[count];
            for (var j = 0; j < count; j++)
            {
                var item = train[order[start + j]];
                features[item.Sha256].CopyTo(x, j * dim);
                y[j] = item.ClassIndex;
            }
            using var scope = torch.NewDisposeScope();
            var input = torch.tensor(x, [count, dim]).to(device);
            var labels = torch.tensor(y).to(device);
            var logits = model.Head.forward(input);
            var loss = trainingLoss.Compute(logits, labels);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            var batchLoss = loss.item<float>();
            lossSum += batchLoss * count;
            correct += logits.argmax(1).eq(labels).sum().item<long>();
            seen += count;
            // The loss is read every batch anyway, so checking it costs nothing; after a non-finite loss the
            // weights are (or will be) NaN, and further steps cannot recover.
            if (!float.IsFinite(batchLoss)) return new TrainPass((float)(lossSum / seen), (float)correct / seen, Diverged: true);
            if (afterBatch is not null && !afterBatch(batchLoss)) return new TrainPass((float)(lossSum / seen), (float)correct / seen, Diverged: false);
        }
        return new TrainPass((float)(lossSum / train.Count), (float)correct / train.Count, Diverged: false);
    }

    public EvaluationPass Evaluate(IReadOnlyList<DatasetEntry> items)
    {
        var features = Features();
        var dim = model.Backbone.Descriptor.FeatureDim;
        model.Head.eval();
        var results = new List<(string, int, float[])>(items.Count);
        using var noGrad = torch.no_grad();
        for (var start = 0; start < items.Count; start += 256)
        {
            var count = Math.Min(256, items.Count - start);
            var x = new float[count * dim];
            for (var j = 0; j < count; j++) features[items[start + j].Sha256].CopyTo(x, j * dim);
            using var scope = torch.NewDisposeScope();
            var logits = model.Head.forward(torch.tensor(x, [count, dim]).to(device)).cpu().data<float>().ToArray();
            var classes = spec.ClassNames.Count;
            for (var j = 0; j < count; j++)
                results.Add((items[start + j].Sha256, items[start + j].ClassIndex, logits.AsSpan(j * classes, classes).ToArray()));
        }
        return new EvaluationPass(results);
    }

    /// <summary>Features of every image of the job, computed on first use.</summary>
    private Dictionary<string, float[]> Features()
    {
        if (_features is not null) return _features;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var descriptor = model.Backbone.Descriptor;
        // Only deterministic (pretrained) weights may be shared across jobs; random-init features are per job.
        var cacheKey = descriptor.Pretrained && model.Backbone.WeightsSha256 is { } weights
            ? FeatureCache.Key(descriptor.Name, weights, source.Pipeline.Size, source.Pipeline.Resize)
            : null;
        var features = new Dictionary<string, float[]>();
        var missing = new List<DatasetEntry>();
        foreach (var item in spec.Items.DistinctBy(i => i.Sha256))
        {
            if (cacheKey is not null && cache.TryGet(cacheKey, item.Sha256) is { } cached && cached.Length == descriptor.FeatureDim)
                features[item.Sha256] = cached;
            else
                missing.Add(item);
        }
        observer.Log("info", $"Feature extraction: {features.Count} images cached, computing {missing.Count} with {descriptor.Name} at {source.Pipeline.Size}px.");
        model.Backbone.eval();
        var order = Enumerable.Range(0, missing.Count).ToArray();
        var done = 0;
        var nextReport = missing.Count / 4;
        using (torch.no_grad())
        {
            foreach (var batch in source.Batches(missing, order, spec.BatchSize, null, 0, cancellationToken))
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = torch.NewDisposeScope();
                var size = source.Pipeline.Size;
                var output = Inference.FrozenFeatures.Compute(model.Backbone, 1, batch.Pixels, batch.Count, size, device,
                    log: message => observer.Log("warning", message));
                for (var j = 0; j < batch.Count; j++)
                {
                    var item = missing[batch.ItemIndices[j]];
                    var vector = output.AsSpan(j * descriptor.FeatureDim, descriptor.FeatureDim).ToArray();
                    features[item.Sha256] = vector;
                    if (cacheKey is not null) cache.Put(cacheKey, item.Sha256, vector);
                }
                done += batch.Count;
                if (done >= nextReport && done < missing.Count)
                {
                    observer.Log("info", $"Extracted features of {done}/{missing.Count} images.");
                    nextReport += Math.Max(1, missing.Count / 4);
                }
            }
        }
        observer.Features(new FeaturesReady(features.Count, features.Count - missing.Count, missing.Count, clock.Elapsed.TotalSeconds));
        FeatureThroughput.Record(missing.Count, views: 1, source.Pipeline.Size, clock.Elapsed.TotalSeconds);
        return _features = features;
    }
}

/// <summary>Trainable backbone stages: every epoch decodes and augments the training images and trains end to end.</summary>
internal sealed class FineTuneEpochRunner(ClassifierModel model, BatchSource source, TrainingSpec spec, Device device,
    CancellationToken cancellationToken, TrainingLoss trainingLoss) : IEpochRunner
{
    public void Dispose() => source.Dispose();

    public TrainPass TrainEpoch(IReadOnlyList<DatasetEntry> train, OptimizerHelper optimizer, int epoch, Func<float, bool>? afterBatch = null)
    {
        var order = ClassBalancedSampler.EpochOrder(spec, train, epoch);
        if (spec.BalancedSampling)
        {
            // Augmentation seeds follow an item's index in the list: listing the draws themselves gives an image
            // drawn twice in an epoch two different augmentations.
            train = [.. order.Select(i => train[i])];
            order = [.. Enumerable.Range(0, order.Length)];
        }
        long? augmentSeed = spec.Augmentation.IsNone ? null : spec.Seed;
        model.TrainMode();
        double lossSum = 0;
        long correct = 0, seen = 0;
        var size = source.Pipeline.Size;
        foreach (var batch in source.Batches(train, order, spec.BatchSize, augmentSeed, epoch, cancellationToken))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (batch.Count < 2) continue; // BatchNorm cannot train on a single image
            using var scope = torch.NewDisposeScope();
            var input = torch.tensor(batch.Pixels, [batch.Count, 3, size, size]).to(device);
            var labels = torch.tensor(batch.Labels).to(device);
            var logits = model.forward(input);
            var loss = trainingLoss.Compute(logits, labels);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            var batchLoss = loss.item<float>();
            lossSum += batchLoss * batch.Count;
            correct += logits.argmax(1).eq(labels).sum().item<long>();
            seen += batch.Count;
            if (!float.IsFinite(batchLoss)) return new TrainPass((float)(lossSum / seen), (float)correct / seen, Diverged: true);
            if (afterBatch is not null && !afterBatch(batchLoss)) break;
        }
        // No batch of at least 2 images: nothing trained, which is not a divergence.
        return seen == 0 ? new TrainPass(float.NaN, float.NaN, Diverged: false) : new TrainPass((float)(lossSum / seen), (float)correct / seen, Diverged: false);
    }

    public EvaluationPass Evaluate(IReadOnlyList<DatasetEntry> items)
    {
        model.eval();
        var results = new List<(string, int, float[])>(items.Count);
        var size = source.Pipeline.Size;
        var classes = spec.ClassNames.Count;
        using var noGrad = torch.no_grad();
        foreach (var batch in source.Batches(items, Enumerable.Range(0, items.Count).ToArray(), spec.BatchSize, null, 0, cancellationToken))
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            var logits = model.forward(torch.tensor(batch.Pixels, [batch.Count, 3, size, size]).to(device)).cpu().data<float>().ToArray();
            for (var j = 0; j < batch.Count; j++)
            {
                var item = items[batch.ItemIndices[j]];
                results.Add((item.Sha256, item.ClassIndex, logits.AsSpan(j * classes, classes).ToArray()));
            }
        }
        return new EvaluationPass(results);
    }
}
