using TorchSharp;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine.Autopilot;

/// <summary>A fitted linear classifier on preprocessed features: logits = W·x + b, W row-major [classes, dim].</summary>
public sealed record LinearWeights(float[] Weight, float[] Bias, int Classes, int Dim);

/// <summary>How a fit ended: iterations used, whether the gradient test was met, the final objective.</summary>
public readonly record struct FitInfo(int Iterations, bool Converged, double Objective);

/// <summary>
/// Multinomial (softmax) logistic regression with an L2 penalty, fitted to convergence by full-batch L-BFGS.
/// The objective, as scikit-learn's <c>LogisticRegression(C=…)</c> scaled by 1/(C·n):
/// <c>Σᵢ wᵢ·CE(tᵢ, softmax(W xᵢ + b)) / Σᵢ wᵢ + ‖W‖² / (2·C·n)</c>, the bias unpenalised, where tᵢ is the one-hot
/// target (or its label-smoothed version (1 − ε)·onehot + ε/K) and wᵢ a per-row weight (1, or class-balanced).
/// Loss and gradient are computed with TorchSharp in float64 on the CPU (one dispose scope per evaluation, no autograd:
/// the gradient is the closed form Xᵀ(P − T)·w/Σw + W/(C·n)); the optimiser is L-BFGS with the two-loop recursion and a
/// backtracking Armijo line search (Nocedal &amp; Wright, Numerical Optimization, 2nd ed. 2006, Algorithms 7.4 and 7.5;
/// Liu &amp; Nocedal 1989). The problem is strictly convex, so the minimiser is unique and the result is deterministic.
/// </summary>
public static class SoftmaxRegression
{
    public const int MaxIterations = 500;
    public const int History = 10;
    public const double GradientTolerance = 1e-6;

    /// <param name="x">rows [n][dim], already preprocessed</param>
    /// <param name="labels">class of each row</param>
    /// <param name="rowWeights">null = all 1</param>
    public static (LinearWeights Weights, FitInfo Info) Fit(IReadOnlyList<double[]> x, IReadOnlyList<int> labels, int classes,
        double c, double labelSmoothing = 0, double[]? rowWeights = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(c, 0);
        var n = x.Count;
        var dim = x[0].Length;
        var flat = new double[n * dim];
        for (var i = 0; i < n; i++) x[i].CopyTo(flat, i * dim);
        var targets = new double[n * classes];
        for (var i = 0; i < n; i++)
            for (var k = 0; k < classes; k++)
                targets[i * classes + k] = (k == labels[i] ? 1 - labelSmoothing : 0) + labelSmoothing / classes;
        var weights = rowWeights ?? Enumerable.Repeat(1.0, n).ToArray();
        var weightSum = weights.Sum();
        var lambda = 1 / (c * n);

        using var keep = torch.NewDisposeScope();
        var X = torch.tensor(flat, [n, dim], torch.float64);
        var T = torch.tensor(targets, [n, classes], torch.float64);
        var w = torch.tensor(weights, [n, 1], torch.float64).div(weightSum);
        var parameters = classes * dim + classes;

        (double F, double[] G) Evaluate(double[] theta)
        {
            using var scope = torch.NewDisposeScope();
            var W = torch.tensor(theta.AsSpan(0, classes * dim).ToArray(), [classes, dim], torch.float64);
            var b = torch.tensor(theta.AsSpan(classes * dim).ToArray(), [classes], torch.float64);
            var logits = X.mm(W.t()) + b;
            var logp = nn.functional.log_softmax(logits, 1);
            var loss = -(w * (T * logp).sum(1, keepdim: true)).sum() + 0.5 * lambda * W.pow(2).sum();
            var residual = (logp.exp() - T) * w;
            var gW = residual.t().mm(X) + lambda * W;
            var gb = residual.sum(0);
            var g = torch.cat([gW.flatten(), gb]).data<double>().ToArray();
            return (loss.item<double>(), g);
        }

        var (theta, info) = Lbfgs(Evaluate, new double[parameters], cancellationToken);
        var weight = theta.AsSpan(0, classes * dim).ToArray().Select(v => (float)v).ToArray();
        var bias = theta.AsSpan(classes * dim).ToArray().Select(v => (float)v).ToArray();
        return (new LinearWeights(weight, bias, classes, dim), info);
    }

    /// <summary>L-BFGS (Nocedal &amp; Wright Alg. 7.4 two-loop recursion, 7.5 outer loop) with a backtracking Armijo
    /// line search (c₁ = 1e-4, halving). Stops when ‖g‖∞ ≤ <see cref="GradientTolerance"/>·max(1, ‖g₀‖∞), when the
    /// objective stops decreasing (relative change ≤ 1e-12) or after <see cref="MaxIterations"/>.</summary>
    public static (double[] X, FitInfo Info) Lbfgs(Func<double[], (double F, double[] G)> evaluate, double[] start,
        CancellationToken cancellationToken = default)
    {
        var x = (double[])start.Clone();
        var (f, g) = evaluate(x);
        var tolerance = GradientTolerance * Math.Max(1, NormInf(g));
        var s = new List<double[]>();
        var y = new List<double[]>();
        var rho = new List<double>();
        var n = x.Length;
        for (var iteration = 0; iteration < MaxIterations; iteration++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (NormInf(g) <= tolerance) return (x, new FitInfo(iteration, true, f));
            // Two-loop recursion: d = −H·g.
            var q = (double[])g.Clone();
            var alpha = new double[s.Count];
            for (var i = s.Count - 1; i >= 0; i--)
            {
                alpha[i] = rho[i] * Dot(s[i], q);
                Axpy(-alpha[i], y[i], q);
            }
            var gamma = s.Count > 0 ? Dot(s[^1], y[^1]) / Dot(y[^1], y[^1]) : 1 / Math.Max(1, Math.Sqrt(Dot(g, g)));
            for (var i = 0; i < n; i++) q[i] *= gamma;
            for (var i = 0; i < s.Count; i++)
            {
                var beta = rho[i] * Dot(y[i], q);
                Axpy(alpha[i] - beta, s[i], q);
            }
            var d = q;
            for (var i = 0; i < n; i++) d[i] = -d[i];
            var slope = Dot(g, d);
            if (!(slope < 0))
            {
                // Not a descent direction (numerical trouble): restart from steepest descent.
                s.Clear(); y.Clear(); rho.Clear();
                for (var i = 0; i < n; i++) d[i] = -g[i] / Math.Max(1, Math.Sqrt(Dot(g, g)));
                slope = Dot(g, d);
            }

            var step = 1.0;
            double[] next;
            double fNext;
            double[] gNext;
            var tries = 0;
            while (true)
            {
                next = new double[n];
                for (var i = 0; i < n; i++) next[i] = x[i] + step * d[i];
                (fNext, gNext) = evaluate(next);
                if (fNext <= f + 1e-4 * step * slope || ++tries >= 40) break;
                step *= 0.5;
            }
            if (!(fNext <= f)) return (x, new FitInfo(iteration, false, f)); // no progress possible

            var sk = new double[n];
            var yk = new double[n];
            for (var i = 0; i < n; i++) { sk[i] = next[i] - x[i]; yk[i] = gNext[i] - g[i]; }
            var sy = Dot(sk, yk);
            if (sy > 1e-12 * Dot(yk, yk))
            {
                if (s.Count == History) { s.RemoveAt(0); y.RemoveAt(0); rho.RemoveAt(0); }
                s.Add(sk); y.Add(yk); rho.Add(1 / sy);
            }
            var change = f - fNext;
            (x, f, g) = (next, fNext, gNext);
            if (change <= 1e-12 * Math.Max(1, Math.Abs(f))) return (x, new FitInfo(iteration + 1, NormInf(g) <= tolerance * 100, f));
        }
        return (x, new FitInfo(MaxIterations, NormInf(g) <= tolerance, f));
    }

    private static double Dot(double[] a, double[] b)
    {
        double sum = 0;
        for (var i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    private static void Axpy(double a, double[] x, double[] y)
    {
        for (var i = 0; i < y.Length; i++) y[i] += a * x[i];
    }

    private static double NormInf(double[] v)
    {
        double max = 0;
        foreach (var e in v) max = Math.Max(max, Math.Abs(e));
        return max;
    }
}
