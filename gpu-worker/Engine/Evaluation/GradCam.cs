using TorchSharp;
using TransferHub.Worker.Engine.Training;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine.Evaluation;

/// <summary>One class's Grad-CAM map on the network's input.</summary>
/// <param name="ClassIndex">The explained class (index into the model's classes).</param>
/// <param name="Map">ReLU(Σ_c α_c A_c) on the last stage's grid, row-major [<see cref="GradCamResult.MapHeight"/> ×
/// <see cref="GradCamResult.MapWidth"/>], not normalised (units of the score per activation); all zeros when nothing
/// in the image speaks for the class.</param>
/// <param name="Upsampled">The map upsampled bilinearly (half-pixel centres, as torch's <c>interpolate</c> with
/// align_corners false) to the input's Size×Size and divided by its maximum: [0, 1], row-major.</param>
public sealed record ClassActivationMap(int ClassIndex, float[] Map, float[] Upsampled);

/// <summary>Grad-CAM of one image for some classes.</summary>
/// <param name="Probabilities">The model's calibrated probabilities for the image, one per class: exactly what Predict
/// returns (<see cref="ClassifierModel.Calibrated"/> of the same scores, so softmax(score / T)).</param>
public sealed record GradCamResult(int MapHeight, int MapWidth, int InputSize, float[] Probabilities, IReadOnlyList<ClassActivationMap> Maps);

/// <summary>
/// Grad-CAM (Selvaraju et al. 2017, "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization",
/// §3): for the score y of a class and the activations A [C, h, w] of the backbone's last convolutional stage,
/// α_c = the spatial mean of ∂y/∂A_c and the map is ReLU(Σ_c α_c A_c). The score is what Predict turns into
/// probabilities (<see cref="ClassifierModel.Forward"/>): the pre-softmax logit, or for a model with the test-time flip
/// the log of its mean probability. With a linear head on globally pooled features this is exactly CAM (Zhou et al.
/// 2016): α = the head's weights / (h·w). The score is taken before the model's temperature T (Guo et al. 2017): the
/// calibrated score y / T has the same argmax and, T being positive, a map scaled by 1/T, which the per-map
/// normalisation removes; the probabilities reported are the calibrated ones, as Predict's.
/// </summary>
/// <remarks>
/// <para>Gradients are enabled for this forward pass only, and only from A on: A is replaced by a detached leaf that
/// records its gradient, so a frozen backbone stays frozen and nothing before the last stage builds a graph.</para>
/// <para>Auto-mode models: the feature preprocessing is inside the score. Where two stages are pooled, the map explains
/// the last one only (the pooled previous stage's contribution is held fixed); with the test-time flip the flipped
/// pass's map is flipped back and added before the ReLU (the score depends on both passes).</para>
/// </remarks>
public static class GradCam
{
    /// <param name="model">In eval mode (BatchNorm statistics fixed).</param>
    /// <param name="input">One normalised image [1, 3, S, S] on the model's device, exactly as Predict builds it.</param>
    /// <param name="classes">Class indices to explain, each in [0, classes).</param>
    public static GradCamResult Compute(ClassifierModel model, Tensor input, IReadOnlyList<int> classes)
    {
        if (input.ndim != 4 || input.shape[0] != 1 || input.shape[2] != input.shape[3])
            throw new ArgumentException($"Grad-CAM takes one square image [1, 3, S, S]; got [{string.Join(", ", input.shape)}].", nameof(input));
        var size = (int)input.shape[2];
        var activations = new List<Tensor>(2);
        try
        {
            using var scope = torch.NewDisposeScope();
            using var grad = torch.enable_grad();
            var scores = model.Forward(input, a =>
            {
                var leaf = a.detach().requires_grad_(true).DetachFromDisposeScope();
                activations.Add(leaf);
                return leaf;
            });
            var classCount = (int)scores.shape[1];
            foreach (var k in classes)
                if (k < 0 || k >= classCount) throw new ArgumentOutOfRangeException(nameof(classes), k, $"The model has {classCount} classes.");
            // The calibrated probabilities, through Predict's one path (ClassifierModel.Probabilities = Calibrated(forward)).
            var probabilities = model.Calibrated(scores.detach()).cpu().data<float>().ToArray();
            var (h, w) = ((int)activations[0].shape[2], (int)activations[0].shape[3]);

            var maps = new List<ClassActivationMap>(classes.Count);
            for (var i = 0; i < classes.Count; i++)
            {
                using var perClass = torch.NewDisposeScope();
                var score = scores[0, classes[i]];
                var gradients = torch.autograd.grad([score], activations, retain_graph: i < classes.Count - 1, allow_unused: true);
                Tensor? sum = null;
                for (var pass = 0; pass < activations.Count; pass++)
                {
                    // α_c = spatial mean of the gradient; Σ_c α_c A_c over the channels → [h, w].
                    var gradient = gradients[pass] ?? torch.zeros_like(activations[pass]);
                    var weights = gradient.mean([2, 3], keepdim: true);
                    var weighted = (weights * activations[pass].detach()).sum(1)[0];
                    if (pass == 1) weighted = weighted.flip(1); // the test-time flip's pass, back to the image's orientation
                    sum = sum is null ? weighted : sum + weighted;
                }
                var map = nn.functional.relu(sum!);
                var upsampled = nn.functional.interpolate(map.reshape(1, 1, h, w), [size, size], mode: InterpolationMode.Bilinear, align_corners: false)
                    .reshape(size, size);
                var peak = upsampled.max();
                var normalised = peak.item<float>() > 0 ? upsampled / peak : upsampled;
                maps.Add(new ClassActivationMap(classes[i], map.cpu().data<float>().ToArray(), normalised.cpu().data<float>().ToArray()));
            }
            return new GradCamResult(h, w, size, probabilities, maps);
        }
        finally
        {
            foreach (var a in activations) a.Dispose();
        }
    }
}
