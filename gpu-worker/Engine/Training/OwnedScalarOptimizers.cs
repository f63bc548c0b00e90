using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace TransferHub.Worker.Engine.Training;

// TorchSharp 0.107's Adam, AdamW and SGD steps pass every hyper-parameter to libtorch as an implicitly converted
// Scalar (mul_(beta1), add_(grad, 1 - beta1), addcdiv_(…, -lr / bias), …) that nothing keeps alive or disposes. A
// garbage collection on any thread during the native call can finalize, and so free, such a Scalar while libtorch
// still reads it: the step then fails ("Unknown scalar type", "Expected false to be true … toFloat") or, worse, uses
// a wrong value. See SafeBatchNorm2d for the same defect in BatchNorm. These subclasses keep TorchSharp's parameter
// groups, state and maths (the same operations in the same order, so the same numbers) and only replace each step
// body with one whose Scalars are created explicitly and disposed after the calls that read them (a `using`
// declaration keeps the object reachable until then); one-argument add_ overloads are avoided, as their hidden
// alpha = 1 is such a Scalar too (OwnedScalars.One is passed instead).

/// <summary>TorchSharp's Adam with a step whose Scalars it owns (see the file's comment).</summary>
internal sealed class OwnedScalarAdam(IEnumerable<Adam.ParamGroup> groups, double lr, double weightDecay)
    : Adam(groups, lr, weight_decay: weightDecay)
{
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = group.Options;
        double beta1 = options.beta1!.Value, beta2 = options.beta2!.Value, weightDecay = options.weight_decay!.Value;
        double eps = options.eps!.Value, lr = options.LearningRate!.Value;
        bool amsgrad = options.amsgrad!.Value, maximize = options.maximize!.Value;
        using var beta1Scalar = beta1.ToScalar();
        using var beta2Scalar = beta2.ToScalar();
        using var oneMinusBeta1 = (1 - beta1).ToScalar();
        using var oneMinusBeta2 = (1 - beta2).ToScalar();
        using var weightDecayScalar = weightDecay.ToScalar();
        using var epsScalar = eps.ToScalar();
        foreach (var parameter in group.Parameters)
        {
            var state = (State)_state[parameter.Handle];
            var grad = parameter.grad;
            if (grad is null) continue;
            if (maximize) grad = grad.neg();
            state.step++;
            var biasCorrection1 = 1 - Math.Pow(beta1, state.step);
            var biasCorrection2 = 1 - Math.Pow(beta2, state.step);
            if (weightDecay != 0) grad = grad.add(parameter, weightDecayScalar);
            state.exp_avg.mul_(beta1Scalar).add_(grad, oneMinusBeta1);
            state.exp_avg_sq.mul_(beta2Scalar).addcmul_(grad, grad.conj(), oneMinusBeta2);
            using var sqrtBias2 = Math.Sqrt(biasCorrection2).ToScalar();
            Tensor denominator;
            if (amsgrad)
            {
                var previous = state.max_exp_avg_sq;
                state.max_exp_avg_sq = torch.maximum(previous, state.exp_avg_sq).DetachFromDisposeScope();
                previous.Dispose();
                denominator = state.max_exp_avg_sq.sqrt().div(sqrtBias2).add_(epsScalar, OwnedScalars.One);
            }
            else
            {
                denominator = state.exp_avg_sq.sqrt().div(sqrtBias2).add_(epsScalar, OwnedScalars.One);
            }
            using var stepSize = (-(lr / biasCorrection1)).ToScalar();
            parameter.addcdiv_(state.exp_avg, denominator, stepSize);
        }
    }, closure);
}

/// <summary>TorchSharp's AdamW (decoupled weight decay) with a step whose Scalars it owns (see the file's comment).</summary>
internal sealed class OwnedScalarAdamW(IEnumerable<AdamW.ParamGroup> groups, double lr, double weightDecay)
    : AdamW(groups, lr, weight_decay: weightDecay)
{
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = group.Options;
        double beta1 = options.beta1!.Value, beta2 = options.beta2!.Value, weightDecay = options.weight_decay!.Value;
        double eps = options.eps!.Value, lr = options.LearningRate!.Value;
        bool amsgrad = options.amsgrad!.Value, maximize = options.maximize!.Value;
        using var decay = (1 - lr * weightDecay).ToScalar();
        using var beta1Scalar = beta1.ToScalar();
        using var beta2Scalar = beta2.ToScalar();
        using var oneMinusBeta1 = (1 - beta1).ToScalar();
        using var oneMinusBeta2 = (1 - beta2).ToScalar();
        using var epsScalar = eps.ToScalar();
        foreach (var parameter in group.Parameters)
        {
            var state = (State)_state[parameter.Handle];
            var grad = parameter.grad;
            if (grad is null) continue;
            if (maximize) grad = grad.neg();
            state.step++;
            parameter.mul_(decay);
            var biasCorrection1 = 1 - Math.Pow(beta1, state.step);
            var biasCorrection2 = 1 - Math.Pow(beta2, state.step);
            state.exp_avg.mul_(beta1Scalar).add_(grad, oneMinusBeta1);
            state.exp_avg_sq.mul_(beta2Scalar).addcmul_(grad, grad, oneMinusBeta2);
            using var sqrtBias2 = Math.Sqrt(biasCorrection2).ToScalar();
            Tensor denominator;
            if (amsgrad)
            {
                var previous = state.max_exp_avg_sq;
                state.max_exp_avg_sq = torch.maximum(previous, state.exp_avg_sq).DetachFromDisposeScope();
                previous.Dispose();
                denominator = state.max_exp_avg_sq.sqrt().div(sqrtBias2).add_(epsScalar, OwnedScalars.One);
            }
            else
            {
                denominator = state.exp_avg_sq.sqrt().div(sqrtBias2).add_(epsScalar, OwnedScalars.One);
            }
            using var stepSize = (-(lr / biasCorrection1)).ToScalar();
            parameter.addcdiv_(state.exp_avg, denominator, stepSize);
        }
    }, closure);
}

/// <summary>TorchSharp's SGD (momentum, dampening, Nesterov, weight decay) with a step whose Scalars it owns.</summary>
internal sealed class OwnedScalarSgd(IEnumerable<SGD.ParamGroup> groups, double lr, double momentum, double weightDecay)
    : SGD(groups, lr, momentum: momentum, weight_decay: weightDecay)
{
    public override Tensor step(Func<Tensor>? closure = null) => _step<ParamGroup>(group =>
    {
        var options = group.Options;
        double momentumValue = options.momentum!.Value, dampening = options.dampening!.Value;
        double weightDecay = options.weight_decay!.Value, lr = options.LearningRate!.Value;
        bool nesterov = options.nesterov!.Value, maximize = options.maximize!.Value;
        using var weightDecayScalar = weightDecay.ToScalar();
        using var momentumScalar = momentumValue.ToScalar();
        using var oneMinusDampening = (1 - dampening).ToScalar();
        using var stepSize = (maximize ? lr : -lr).ToScalar();
        foreach (var parameter in group.Parameters)
        {
            var state = (State)_state[parameter.Handle];
            var grad = parameter.grad;
            if (grad is null) continue;
            if (weightDecay != 0) grad = grad.add(parameter, weightDecayScalar);
            if (momentumValue != 0)
            {
                var buffer = state.momentum_buffer;
                if (buffer is null)
                    buffer = state.momentum_buffer = grad.clone().detach().DetachFromDisposeScope();
                else
                    buffer.mul_(momentumScalar).add_(grad, oneMinusDampening);
                grad = nesterov ? grad.add(buffer, momentumScalar) : buffer;
                state.momentum_buffer = buffer;
            }
            parameter.add_(grad, stepSize);
        }
    }, closure);
}
