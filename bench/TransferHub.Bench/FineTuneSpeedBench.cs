using System.Diagnostics;
using TorchSharp;
using TransferHub.Worker.Engine.Backbones;
using TransferHub.Worker.Engine.Training;
using TransferHub.Worker.Engine.Transforms;
using TransferHub.Worker.Storage;

/// <summary>
/// Fine-tune speed per epoch (issue 16 goal 2) with the recipe of the PyTorch transfer-learning tutorial the issue's
/// reference used: all stages train, SGD 1e-3 momentum 0.9 (backbone at the same rate), step schedule (÷10 every 7
/// epochs), batch 32, random resized crop (scale 0.08–1, torchvision's default) + horizontal flip. Each epoch's wall
/// seconds (training + validation, as the worker reports them) and the process's CPU seconds over the same span:
/// on a shared machine CPU seconds vary less than wall seconds. Setup = model creation and weight loading, before
/// epoch 1.
/// </summary>
static class FineTuneSpeedBench
{
    /// <summary>Issue 16's fine-tune recipe, PyTorch's transfer-learning tutorial's: every stage trains, SGD 1e-3 with
    /// momentum 0.9 (the backbone at the same rate), StepLR every 7 epochs × 0.1, random resized crop 0.08–1 + flip,
    /// seed 0. pytorch_reference.py gets the same with <c>--optimizer sgd --lr 1e-3 --backbone-lr-mult 1
    /// --crop-scale-min 0.08 --step-size 7</c>.</summary>
    internal static TrainingSpec TutorialRecipe(TrainingSpec spec) => spec with
    {
        UnfreezeStages = 0,
        Optimizer = OptimizerKind.SgdMomentum,
        LearningRate = 1e-3f,
        BackboneLrMultiplier = 1f,
        Momentum = 0.9f,
        Schedule = LrSchedule.Step,
        StepSize = 7,
        StepGamma = 0.1f,
        Augmentation = new AugmentationOptions { CropScaleMin = 0.08f, CropScaleMax = 1, HorizontalFlip = true },
        Seed = 0,
    };

    public static void Run(BenchOptions options, BackboneRegistry registry, ImageStore store, Dataset dataset, string work, string backbone,
        int epochs, int runs)
    {
        var size = options.CompareSize;
        Console.WriteLine($"fine-tune speed · {size}px squash · all stages · SGD 1e-3 momentum 0.9 · step 7 · batch {options.Batch} · " +
                          $"random resized crop 0.08–1 + flip · {epochs} epochs · {options.Threads} torch threads · {runs} run(s)");
        Console.WriteLine("| run | setup wall s | epoch 1 wall s | epoch 1 CPU s | epochs 2+ wall s/epoch (min–max) | epochs 2+ CPU s/epoch (min–max) | total wall s | test acc |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        for (var run = 0; run < runs; run++)
        {
            var spec = TutorialRecipe(dataset.Spec($"bench-ft-speed-{run}", backbone, TrainingMode.FineTune, epochs, size, options.Batch));
            var clock = new EpochClock();
            var trainer = new Trainer(registry, store, new FeatureCache(Path.Combine(work, $"features-ft-speed-{run}")), torch.CPU);
            var total = Stopwatch.StartNew();
            var outcome = trainer.Run(spec, clock, CancellationToken.None);
            var seconds = total.Elapsed.TotalSeconds;
            outcome.Model.Dispose();
            var later = clock.Epochs.Skip(1).ToList();
            string Range(IEnumerable<double> values)
            {
                var v = values.ToList();
                return v.Count == 0 ? "—" : $"{v.Average():F2} ({v.Min():F2}–{v.Max():F2})";
            }
            Console.WriteLine($"| {run + 1} | {clock.SetupSeconds:F2} | {clock.Epochs[0].Wall:F2} | {clock.Epochs[0].Cpu:F2} | " +
                              $"{Range(later.Select(e => e.Wall))} | {Range(later.Select(e => e.Cpu))} | {seconds:F1} | {outcome.Report.Accuracy:P1} |");
            Console.WriteLine("  per epoch wall/CPU s: " + string.Join("  ", clock.Epochs.Select((e, i) => $"{i + 1}: {e.Wall:F1}/{e.Cpu:F1}")));
        }
    }

    /// <summary>The data pipeline alone (no model): read, decode, random resized crop + flip, normalise every training
    /// image for <paramref name="epochs"/> epochs through <see cref="BatchSource"/>, with decoded images kept
    /// (the default budget) and not kept (budget 0), interleaved <paramref name="rounds"/> times. Process CPU seconds
    /// per epoch: the work the pipeline takes from the cores libtorch trains on.</summary>
    public static void PipelineOnly(BenchOptions options, ImageStore store, Dataset dataset, BackboneRegistry registry, string backbone, int epochs, int rounds)
    {
        var size = options.CompareSize;
        Normalization normalization;
        using (var b = registry.Create(backbone)) normalization = b.Descriptor.Normalization;
        var pipeline = new TransformPipeline(size, ResizeMode.Squash,
            new AugmentationOptions { CropScaleMin = 0.08f, CropScaleMax = 1, HorizontalFlip = true }, normalization);
        var train = dataset.Items.Where(i => i.Split == DataSplit.Train).ToList();
        var order = Enumerable.Range(0, train.Count).ToArray();
        Console.WriteLine($"data pipeline alone · {train.Count} training images · {size}px · batch {options.Batch} · {epochs} epochs · {rounds} interleaved rounds");
        Console.WriteLine("| decoded images kept | epoch 1 CPU s | epochs 2+ CPU s/epoch (each round) | epoch 1 wall s | epochs 2+ wall s/epoch |");
        Console.WriteLine("|---|---|---|---|---|");
        var rows = new Dictionary<bool, List<(double Cpu1, double CpuLater, double Wall1, double WallLater)>> { [false] = [], [true] = [] };
        for (var round = 0; round < rounds; round++)
        {
            foreach (var keep in new[] { false, true })
            {
                using var source = new BatchSource(store, pipeline, maxDecodedBytes: keep ? BatchSource.DefaultMaxDecodedBytes : 0);
                var cpu = new List<double>();
                var wall = new List<double>();
                for (var epoch = 0; epoch < epochs; epoch++)
                {
                    var c0 = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
                    var clock = Stopwatch.StartNew();
                    foreach (var batch in source.Batches(train, order, options.Batch, 0, epoch, CancellationToken.None)) GC.KeepAlive(batch);
                    wall.Add(clock.Elapsed.TotalSeconds);
                    cpu.Add(Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - c0);
                }
                rows[keep].Add((cpu[0], cpu.Skip(1).Average(), wall[0], wall.Skip(1).Average()));
            }
        }
        foreach (var keep in new[] { false, true })
        {
            var r = rows[keep];
            Console.WriteLine($"| {(keep ? "yes (default budget)" : "no (budget 0)")} | {string.Join(", ", r.Select(x => x.Cpu1.ToString("F2")))} | " +
                              $"{string.Join(", ", r.Select(x => x.CpuLater.ToString("F2")))} | {string.Join(", ", r.Select(x => x.Wall1.ToString("F2")))} | " +
                              $"{string.Join(", ", r.Select(x => x.WallLater.ToString("F2")))} |");
        }
    }

    /// <summary>The training step alone (forward, backward, SGD step on one random batch already in a tensor), NCHW
    /// against channels-last (NHWC strides for the input and every 4-D weight), interleaved; CPU and wall seconds per
    /// step. Experimental: decides whether channels-last is worth carrying into the trainer.</summary>
    public static void StepVariants(BenchOptions options, BackboneRegistry registry, string backbone, int steps, int rounds)
    {
        var size = options.CompareSize;
        Console.WriteLine($"training step alone · {size}px · batch {options.Batch} · all stages · SGD · {steps} steps after 2 warm-up · {rounds} rounds");
        var models = new[] { false, true }.ToDictionary(cl => cl, cl =>
        {
            var b = registry.Create(backbone);
            var m = new ClassifierModel(b, new ClassifierHead(b.Descriptor.FeatureDim, 6, 0, 0));
            m.Freeze(0);
            if (cl) ToChannelsLast(m);
            var opt = torch.optim.SGD(m.parameters().Where(p => p.requires_grad), 1e-3, 0.9);
            return (m, opt);
        });
        using var input = torch.randn(options.Batch, 3, size, size);
        using var inputCl = input.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
        using var labels = torch.randint(0, 6, [options.Batch], dtype: torch.ScalarType.Int64);
        var results = new Dictionary<bool, List<(double Wall, double Cpu)>> { [false] = [], [true] = [] };
        for (var round = 0; round < rounds; round++)
        {
            foreach (var cl in new[] { false, true })
            {
                var (m, opt) = models[cl];
                void Step()
                {
                    using var scope = torch.NewDisposeScope();
                    m.TrainMode();
                    var loss = torch.nn.functional.cross_entropy(m.forward(cl ? inputCl : input), labels);
                    opt.zero_grad();
                    loss.backward();
                    opt.step();
                    loss.item<float>();
                }
                if (round == 0) { Step(); Step(); }
                var c0 = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
                var clock = Stopwatch.StartNew();
                for (var i = 0; i < steps; i++) Step();
                results[cl].Add((clock.Elapsed.TotalSeconds / steps, (Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - c0) / steps));
            }
        }
        foreach (var cl in new[] { false, true })
            Console.WriteLine($"| {(cl ? "channels-last" : "NCHW")} | wall s/step {string.Join(", ", results[cl].Select(r => r.Wall.ToString("F3")))} | CPU s/step {string.Join(", ", results[cl].Select(r => r.Cpu.ToString("F3")))} |");
        foreach (var (m, opt) in models.Values) { opt.Dispose(); m.Dispose(); }
    }

    /// <summary>Where a fine-tune epoch's wall time goes (issue 16 goal 2: what epoch 1 pays for, what a steady epoch
    /// spends): the trainer's loop (<see cref="FineTuneEpochRunner"/>) with the same recipe as <see cref="Run"/>, timed
    /// per part — waiting for the next prepared batch (read + decode + augment + normalise run ahead on the thread pool;
    /// a wait means the pipeline fell behind), copying it into a tensor, forward + loss, backward, optimizer step, reading
    /// the loss — then the validation pass. Seconds per part per epoch, and the slowest step of each epoch.</summary>
    public static void Breakdown(BenchOptions options, BackboneRegistry registry, ImageStore store, Dataset dataset, string backbone, int epochs)
    {
        var size = options.CompareSize;
        var spec = TutorialRecipe(dataset.Spec("bench-ft-breakdown", backbone, TrainingMode.FineTune, epochs, size, options.Batch));
        var setup = Stopwatch.StartNew();
        var b = registry.Create(backbone);
        using var model = new ClassifierModel(b, new ClassifierHead(b.Descriptor.FeatureDim, dataset.Classes.Count, 0, 0));
        model.Freeze(0);
        using var optimizer = Trainer.CreateOptimizer(spec, model);
        using var source = new BatchSource(store, new TransformPipeline(size, ResizeMode.Squash, spec.Augmentation, b.Descriptor.Normalization));
        var train = dataset.Items.Where(i => i.Split == DataSplit.Train).ToList();
        var val = dataset.Items.Where(i => i.Split == DataSplit.Val).ToList();
        Console.WriteLine($"fine-tune epoch breakdown · {size}px · batch {options.Batch} · {train.Count} train / {val.Count} val images · model setup {setup.Elapsed.TotalSeconds:F2} s · load {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine("| epoch | wait for batch s | to tensor s | forward + loss s | backward s | optimizer step s | loss read s | train s | slowest step s (batch) | validation s | epoch s | CPU s |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            var parts = new double[6];
            var (slowest, slowestAt) = (0.0, 0);
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
            var epochClock = Stopwatch.StartNew();
            var order = Enumerable.Range(0, train.Count).ToArray();
            new Random(epoch).Shuffle(order);
            model.TrainMode();
            var mark = Stopwatch.GetTimestamp();
            double Lap()
            {
                var now = Stopwatch.GetTimestamp();
                var s = Stopwatch.GetElapsedTime(mark, now).TotalSeconds;
                mark = now;
                return s;
            }
            var n = 0;
            foreach (var batch in source.Batches(train, order, options.Batch, spec.Seed, epoch, CancellationToken.None))
            {
                parts[0] += Lap();
                if (batch.Count < 2) continue;
                var stepStart = Stopwatch.GetTimestamp();
                using var scope = torch.NewDisposeScope();
                var input = torch.tensor(batch.Pixels, [batch.Count, 3, size, size]);
                var labels = torch.tensor(batch.Labels);
                parts[1] += Lap();
                var loss = torch.nn.functional.cross_entropy(model.forward(input), labels);
                parts[2] += Lap();
                optimizer.zero_grad();
                loss.backward();
                parts[3] += Lap();
                optimizer.step();
                parts[4] += Lap();
                loss.item<float>();
                parts[5] += Lap();
                var step = Stopwatch.GetElapsedTime(stepStart).TotalSeconds;
                if (step > slowest) (slowest, slowestAt) = (step, n);
                n++;
            }
            var trainSeconds = epochClock.Elapsed.TotalSeconds;
            var valClock = Stopwatch.StartNew();
            model.eval();
            using (torch.no_grad())
                foreach (var batch in source.Batches(val, Enumerable.Range(0, val.Count).ToArray(), options.Batch, null, 0, CancellationToken.None))
                {
                    using var scope = torch.NewDisposeScope();
                    model.forward(torch.tensor(batch.Pixels, [batch.Count, 3, size, size])).argmax(1).data<long>().ToArray();
                }
            var valSeconds = valClock.Elapsed.TotalSeconds;
            var cpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - cpu0;
            Console.WriteLine($"| {epoch + 1} | {string.Join(" | ", parts.Select(p => p.ToString("F2")))} | {trainSeconds:F2} | {slowest:F2} ({slowestAt + 1}) | {valSeconds:F2} | {epochClock.Elapsed.TotalSeconds:F2} | {cpu:F1} |");
        }
        Console.WriteLine($"load after: {File.ReadAllText("/proc/loadavg").Trim()}");
    }

    /// <summary>Gives every 4-D parameter and buffer NHWC strides (same shape and values).</summary>
    internal static void ToChannelsLast(torch.nn.Module module)
    {
        using var noGrad = torch.no_grad();
        foreach (var p in module.parameters().Concat(module.buffers()))
            if (p.ndim == 4)
                using (var cl = p.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2))
                    p.set_(cl);
    }

    /// <summary>Wall and process CPU seconds of each epoch, measured between the worker's own epoch events.</summary>
    private sealed class EpochClock : ITrainingObserver
    {
        private readonly Stopwatch _wall = Stopwatch.StartNew();
        private double _lastWall;
        private double _lastCpu = Cpu();

        public double SetupSeconds { get; private set; }
        public List<(double Wall, double Cpu)> Epochs { get; } = [];

        private static double Cpu() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

        public void Started(TrainingStarted started)
        {
            SetupSeconds = _wall.Elapsed.TotalSeconds;
            _lastWall = SetupSeconds;
            _lastCpu = Cpu();
        }

        public void Epoch(EpochResult epoch)
        {
            double wall = _wall.Elapsed.TotalSeconds, cpu = Cpu();
            Epochs.Add((wall - _lastWall, cpu - _lastCpu));
            _lastWall = wall;
            _lastCpu = cpu;
        }

        public void Log(string level, string message) { }
    }
}
