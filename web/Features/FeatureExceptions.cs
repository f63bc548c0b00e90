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
public class RuleViolationException(string message) : FeatureException(message);

/// <summary>A worker could not use an uploaded image (not an image, too large, …): a <see cref="RuleViolationException"/>
/// "The image could not be used: …" for the API, and <see cref="Why"/> alone for a page that names the file itself.</summary>
public sealed class UnusableImageException(string why) : RuleViolationException($"The image could not be used: {why}")
{
    /// <summary>The worker's reason without its subject: "this is not an image in a supported format (…)".</summary>
    public string Why { get; } = why;

    /// <summary>The worker's refusal detail ("the uploaded image: this is not an image…", the subject being what it was
    /// asked to decode) without that subject, which the page or the message names already.</summary>
    public static UnusableImageException FromWorker(string detail)
    {
        const string subject = "the uploaded image: ";
        return new(detail.StartsWith(subject, StringComparison.OrdinalIgnoreCase) ? detail[subject.Length..] : detail);
    }
}

/// <summary>Input that can never be accepted as it is (settings out of range, an unknown backbone), with every problem
/// and the field each concerns; the API answers 400 with RFC 7807 <c>errors</c> keyed by field.</summary>
public sealed class InvalidInputException(IReadOnlyList<(string Field, string Message)> problems)
    : FeatureException(string.Join(" ", problems.Select(p => p.Message)))
{
    public IReadOnlyList<(string Field, string Message)> Problems { get; } = problems;
}
