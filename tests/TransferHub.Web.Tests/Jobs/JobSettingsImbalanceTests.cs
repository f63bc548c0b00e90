using System.Text.Json;
using TransferHub.Contracts.Jobs;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Workers.Gateway;
using ClassWeighting = TransferHub.Worker.V1.ClassWeighting;
using JobMode = TransferHub.Worker.V1.JobMode;
using JobSpec = TransferHub.Worker.V1.JobSpec;

namespace TransferHub.Web.Tests.Jobs;

/// <summary>The launch settings of issue 11 §3 (class weights, balanced sampling, head-first epochs): their defaults,
/// how stored runs read without them, what the run page and reports show, and what goes on the wire.</summary>
public sealed class JobSettingsImbalanceTests
{
    [Fact]
    public void FineTuningTakesTheSharedHeadFirstDefaultAndNoModeWeighsOrRebalancesByDefault()
    {
        var fineTune = JobSettings.ForMode(TrainingMode.FineTune, "b");
        var featureExtraction = JobSettings.ForMode(TrainingMode.FeatureExtraction, "b");

        Assert.Equal(JobDefaults.HeadFirstEpochs(fineTune.Epochs), fineTune.HeadFirstEpochs);
        Assert.Equal(0, featureExtraction.HeadFirstEpochs);
        Assert.All(new[] { fineTune, featureExtraction }, s => Assert.Equal((ClassWeightingKind.None, false), (s.ClassWeighting, s.BalancedSampling)));
        Assert.Empty(fineTune.Problems());
    }

    [Fact]
    public void RunsStoredBeforeTheOptionsExistedReadAsUnweightedShuffledAndWithoutHeadFirstEpochs()
    {
        var stored = JsonSerializer.SerializeToNode(JobSettings.ForMode(TrainingMode.FineTune, "b"))!.AsObject();
        foreach (var name in new[] { "ClassWeighting", "ClassWeightBeta", "BalancedSampling", "HeadFirstEpochs" }) Assert.True(stored.Remove(name), name);

        var read = JsonSerializer.Deserialize<JobSettings>(stored.ToJsonString())!;

        Assert.Equal((ClassWeightingKind.None, false, 0), (read.ClassWeighting, read.BalancedSampling, read.HeadFirstEpochs));
        Assert.DoesNotContain(read.Describe(1), row => row.Key is "Head first" or "Class weights" or "Sampling");
    }

    [Fact]
    public void TheRunPageAndReportsShowTheOptionsThatAreOn()
    {
        var settings = JobSettings.ForMode(TrainingMode.FineTune, "b");
        settings.HeadFirstEpochs = 2;
        settings.ClassWeighting = ClassWeightingKind.InverseFrequency;
        settings.BalancedSampling = true;

        var rows = settings.Describe(1).ToDictionary(r => r.Key, r => r.Value);

        Assert.Equal(("2 epoch(s) with the backbone frozen", "inverse frequency", "class-balanced"), (rows["Head first"], rows["Class weights"], rows["Sampling"]));
        settings.ClassWeighting = ClassWeightingKind.EffectiveNumber;
        settings.ClassWeightBeta = 0.9999;
        Assert.Contains(new KeyValuePair<string, string>("Class weights", "effective number (β 0.9999)"), settings.Describe(1));
        // Head-first epochs mean nothing in feature extraction, so they are not shown there.
        settings.Mode = TrainingMode.FeatureExtraction;
        Assert.DoesNotContain(settings.Describe(1), row => row.Key == "Head first");
    }

    [Fact]
    public void TheWireSpecCarriesTheOptionsAndAnExplicitHeadFirstCountWhenFineTuning()
    {
        var settings = JobSettings.ForMode(TrainingMode.FineTune, "b");
        settings.HeadFirstEpochs = 0;
        settings.ClassWeighting = ClassWeightingKind.EffectiveNumber;
        settings.ClassWeightBeta = 0.95;
        settings.BalancedSampling = true;

        var spec = JobSpec.Parser.ParseFrom(RunSpec.Encode(new TrainingRequest(settings, 1, ["a", "b"], [], "v")));

        // 0 is sent, not left out: absent would mean the worker's default.
        Assert.Equal((true, 0), (spec.HasHeadFirstEpochs, spec.HeadFirstEpochs));
        Assert.Equal((ClassWeighting.EffectiveNumber, 0.95f, true), (spec.ClassWeighting, spec.ClassWeightBeta, spec.BalancedSampling));
        settings.Mode = TrainingMode.FeatureExtraction;
        settings.Augment = false;
        Assert.False(JobSpec.Parser.ParseFrom(RunSpec.Encode(new TrainingRequest(settings, 1, ["a", "b"], [], "v"))).HasHeadFirstEpochs);
    }

    [Fact]
    public void AFineTuneStoredBeforeHeadFirstEpochsExistedIsSentWithNoneAsItsStoredSettingsSay()
    {
        // A spec stored by an older web: fine-tune without the head_first_epochs field (a worker would read "default: 1").
        var old = new JobSpec { Mode = JobMode.FineTune, Epochs = 5 };
        var attempt = RunSpec.ForAttempt(Google.Protobuf.MessageExtensions.ToByteArray(old), "run-9-1");
        Assert.Equal(("run-9-1", true, 0), (attempt.JobId, attempt.HasHeadFirstEpochs, attempt.HeadFirstEpochs));
        // A stored choice is kept; other modes are left alone.
        var chosen = new JobSpec { Mode = JobMode.FineTune, Epochs = 5, HeadFirstEpochs = 2 };
        Assert.Equal(2, RunSpec.ForAttempt(Google.Protobuf.MessageExtensions.ToByteArray(chosen), "x").HeadFirstEpochs);
        Assert.False(RunSpec.ForAttempt(Google.Protobuf.MessageExtensions.ToByteArray(new JobSpec { Mode = JobMode.FeatureExtraction }), "x").HasHeadFirstEpochs);
    }
}
