namespace TransferHub.Web.Features;

/// <summary>A request a feature service refused, with a message meant for the user. Pages show the message;
/// endpoints map <see cref="NotFoundException"/> to 404, <see cref="ForbiddenException"/> to 403 and
/// <see cref="RuleViolationException"/> to 400/409.</summary>
public abstract class FeatureException(string message) : Exception(message);

/// <summary>No such thing, or one the caller may not know about: the two are deliberately indistinguishable.</summary>
public sealed class NotFoundException(string thing) : FeatureException($"{thing} not found.");

/// <summary>The caller can see the thing but their role does not allow this change.</summary>
public sealed class ForbiddenException(string message) : FeatureException(message);

/// <summary>The change breaks a rule of the domain (a team without an owner, a duplicate name, …).</summary>
public sealed class RuleViolationException(string message) : FeatureException(message);

/// <summary>Input that can never be accepted as it is (settings out of range, an unknown backbone), with every problem
/// and the field each concerns; the API answers 400 with RFC 7807 <c>errors</c> keyed by field.</summary>
public sealed class InvalidInputException(IReadOnlyList<(string Field, string Message)> problems)
    : FeatureException(string.Join(" ", problems.Select(p => p.Message)))
{
    public IReadOnlyList<(string Field, string Message)> Problems { get; } = problems;
}
