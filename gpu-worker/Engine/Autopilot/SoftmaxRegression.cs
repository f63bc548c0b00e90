using System.Numerics;
using System.Runtime.InteropServices;

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
/// Loss and gradient are computed in float64 by plain SIMD loops on one thread (the gradient in closed form,
/// Xᵀ(P − T)·w/Σw + W/(C·n)): at these sizes (hundreds of rows × 512 features) libtorch's per-call and intra-op thread
/// costs dominated — measured on a busy 2-core machine, 3.5–9.7 s per fit with 2 torch threads against 0.08–0.44 s with
/// one, and one thread cannot be set per job. The optimiser is L-BFGS with the two-loop recursion and a
/// backtracking Armijo line search (Nocedal &amp; Wright, Numerical Optimization, 2nd ed. 2006, Algorithms 7.4 and 7.5;
/// Liu &amp; Nocedal 1989). The problem is strictly convex, so the minimiser is unique and the result is deterministic.
/// </summary>
public static class SoftmaxRegression
{
    public const int MaxIterations = 300;
    public const int History = 10;
    /// <summary>Default stopping test on ‖g‖∞ relative to the start's (scikit-learn's lbfgs default tol is 1e-4 too).</summary>
    public const double DefaultTolerance = 1e-4;

    /// <param name="x">rows [n][dim], already preprocessed</param>
    /// <param name="labels">class of each row</param>
    /// <param name="rowWeights">null = all 1</param>
    public static (LinearWeights Weights, FitInfo Info) Fit(IReadOnlyList<double[]> x, IReadOnlyList<int> labels, int classes,
        double c, double labelSmoothing = 0, double[]? rowWeights = null, CancellationToken cancellationToken = default,
        double tolerance = DefaultTolerance)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(c, 0);
        var n = x.Count;
        var dim = x[0].Length;
        var width = dim + 1; // a constant 1 column carries the bias
        var flat = new double[n * width];
        for (var i = 0; i < n; i++)
        {
            x[i].CopyTo(flat, i * width);
            flat[i * width + dim] = 1;
        }
        var targets = new double[n * classes];
        for (var i = 0; i < n; i++)
            for (var k = 0; k < classes; k++)
                targets[i * classes + k] = (k == labels[i] ? 1 - labelSmoothing : 0) + labelSmoothing / classes;
        var weights = rowWeights ?? Enumerable.Repeat(1.0, n).ToArray();
        var weightSum = weights.Sum();
        var lambda = 1 / (c * n);

        for (var i = 0; i < n; i++) weights[i] /= weightSum;

        // theta = W row-major [classes, width], the last column being the bias.
        (double F, double[] G) Evaluate(double[] theta)
        {
            var g = new double[classes * width];
            var logits = new double[classes];
            double f = 0;
            for (var i = 0; i < n; i++)
            {
                var row = flat.AsSpan(i * width, width);
                var max = double.NegativeInfinity;
                for (var k = 0; k < classes; k++)
                {
                    logits[k] = Dot(row, theta.AsSpan(k * width, width));
                    max = Math.Max(max, logits[k]);
                }
                double sum = 0;
                for (var k = 0; k < classes; k++) sum += Math.Exp(logits[k] - max);
                var logSum = max + Math.Log(sum);
                for (var k = 0; k < classes; k++)
                {
                    var logp = logits[k] - logSum;
                    var t = targets[i * classes + k];
                    f -= weights[i] * t * logp;
                    Axpy(weights[i] * (Math.Exp(logp) - t), row, g.AsSpan(k * width, width));
                }
            }
            double penalty = 0;
            for (var k = 0; k < classes; k++)
            {
                for (var d = 0; d < dim; d++)
                {
                    var v = theta[k * width + d];
                    penalty += v * v;
                    g[k * width + d] += lambda * v;
                }
            }
            return (f + 0.5 * lambda * penalty, g);
        }

        var (theta, info) = Lbfgs(Evaluate, new double[classes * width], tolerance, cancellationToken);
        var weight = new float[classes * dim];
        var bias = new float[classes];
        for (var k = 0; k < classes; k++)
        {
            for (var d = 0; d < dim; d++) weight[k * dim + d] = (float)theta[k * width + d];
            bias[k] = (float)theta[k * width + dim];
        }
        return (new LinearWeights(weight, bias, classes, dim), info);
    }

    /// <summary>L-BFGS (Nocedal &amp; Wright Alg. 7.4 two-loop recursion, 7.5 outer loop) with a backtracking Armijo
    /// line search (c₁ = 1e-4, halving). Stops when ‖g‖∞ ≤ <paramref name="relativeTolerance"/>·max(1, ‖g₀‖∞), when the
    /// objective stops decreasing (relative change ≤ 1e-12) or after <see cref="MaxIterations"/>.</summary>
    public static (double[] X, FitInfo Info) Lbfgs(Func<double[], (double F, double[] G)> evaluate, double[] start,
        double relativeTolerance = DefaultTolerance, CancellationToken cancellationToken = default)
    {
        var x = (double[])start.Clone();
        var (f, g) = evaluate(x);
        var tolerance = relativeTolerance * Math.Max(1, NormInf(g));
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

    /// <summary>Σ aᵢbᵢ with SIMD lanes, in a fixed order (deterministic on a given machine).</summary>
    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        var va = MemoryMarshal.Cast<double, Vector<double>>(a);
        var vb = MemoryMarshal.Cast<double, Vector<double>>(b);
        var acc = Vector<double>.Zero;
        for (var i = 0; i < va.Length; i++) acc += va[i] * vb[i];
        var sum = Vector.Sum(acc);
        for (var i = va.Length * Vector<double>.Count; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    /// <summary>y += a·x.</summary>
    private static void Axpy(double a, ReadOnlySpan<double> x, Span<double> y)
    {
        var vx = MemoryMarshal.Cast<double, Vector<double>>(x);
        var vy = MemoryMarshal.Cast<double, Vector<double>>(y);
        var va = new Vector<double>(a);
        for (var i = 0; i < vx.Length; i++) vy[i] += va * vx[i];
        for (var i = vx.Length * Vector<double>.Count; i < x.Length; i++) y[i] += a * x[i];
    }

    private static double NormInf(double[] v)
    {
        double max = 0;
        foreach (var e in v) max = Math.Max(max, Math.Abs(e));
        return max;
    }
}
