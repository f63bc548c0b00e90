using Microsoft.AspNetCore.Identity;

namespace TransferHub.Web.Features.Accounts;

/// <summary>ASP.NET Identity's refusals of a new account, in plain sentences under the field they are about: the e-mail
/// (which is also the user name, so "Username '…' is already taken" is about the e-mail) or the password. What has no
/// field of its own keeps Identity's description.</summary>
/// <param name="Email">About the e-mail field, or null.</param>
/// <param name="Password">About the password field (every rule it misses in one sentence), or null.</param>
/// <param name="Other">Anything else, one sentence each.</param>
public sealed record RegistrationErrors(string? Email, string? Password, IReadOnlyList<string> Other)
{
    /// <summary>Sorts <paramref name="errors"/> (from <c>UserManager.CreateAsync</c>) by field, by their <see cref="IdentityError.Code"/>;
    /// <paramref name="rules"/> gives the numbers (the configured minimum length).</summary>
    public static RegistrationErrors Of(IEnumerable<IdentityError> errors, PasswordOptions rules)
    {
        ArgumentNullException.ThrowIfNull(errors);
        ArgumentNullException.ThrowIfNull(rules);
        string? email = null;
        var needs = new List<(int Order, string Text)>(); // in the order the rules are listed under the field
        var other = new List<string>();
        foreach (var error in errors)
        {
            switch (error.Code)
            {
                case nameof(IdentityErrorDescriber.DuplicateUserName) or nameof(IdentityErrorDescriber.DuplicateEmail):
                    email = "An account with this e-mail already exists: sign in instead (or reset its password from the sign-in page).";
                    break;
                case nameof(IdentityErrorDescriber.InvalidUserName) or nameof(IdentityErrorDescriber.InvalidEmail):
                    email ??= "This is not an e-mail address we can use: check it for typos (letters, digits and - . _ @ + only).";
                    break;
                case nameof(IdentityErrorDescriber.PasswordTooShort): needs.Add((0, $"at least {rules.RequiredLength} characters")); break;
                case nameof(IdentityErrorDescriber.PasswordRequiresUniqueChars): needs.Add((1, $"at least {rules.RequiredUniqueChars} different characters")); break;
                case nameof(IdentityErrorDescriber.PasswordRequiresUpper): needs.Add((2, "an uppercase letter")); break;
                case nameof(IdentityErrorDescriber.PasswordRequiresLower): needs.Add((3, "a lowercase letter")); break;
                case nameof(IdentityErrorDescriber.PasswordRequiresDigit): needs.Add((4, "a digit")); break;
                case nameof(IdentityErrorDescriber.PasswordRequiresNonAlphanumeric): needs.Add((5, "a symbol such as - or !")); break;
                default: other.Add(error.Description); break;
            }
        }
        string[] missing = [.. needs.OrderBy(n => n.Order).Select(n => n.Text).Distinct()];
        var password = missing.Length == 0 ? null
            : "The password needs " + (missing.Length == 1 ? missing[0] : string.Join(", ", missing[..^1]) + " and " + missing[^1]) + ".";
        return new(email, password, other);
    }
}
