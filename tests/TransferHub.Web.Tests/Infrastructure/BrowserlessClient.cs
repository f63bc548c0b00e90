using System.Net;
using System.Text.RegularExpressions;

namespace TransferHub.Web.Tests.Infrastructure;

/// <summary>Drives the static account forms over HTTP the way a browser without JavaScript would: GET the page,
/// take the hidden fields (antiforgery token, form handler) of the form, POST it back. Cookies are kept.</summary>
public sealed partial class BrowserlessClient(HttpClient http)
{
    public HttpClient Http => http;

    public async Task<string> GetAsync(string url)
    {
        var response = await http.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>Submits the form on <paramref name="url"/> that <paramref name="isForm"/> picks (by its opening tag
    /// and body) with <paramref name="fields"/>; follows redirects and returns the final page.</summary>
    public async Task<(Uri Url, string Html)> SubmitAsync(string url, Func<string, bool> isForm, IDictionary<string, string> fields)
    {
        var page = await GetAsync(url);
        var form = FormPattern().Matches(page).Select(m => m.Value).FirstOrDefault(isForm)
            ?? throw new InvalidOperationException($"No such form on {url}.");
        var values = HiddenPattern().Matches(form).ToDictionary(m => WebUtility.HtmlDecode(m.Groups["name"].Value),
            m => WebUtility.HtmlDecode(m.Groups["value"].Value));
        foreach (var (name, value) in fields)
            values[name] = value;
        var action = ActionPattern().Match(form) is { Success: true } a ? WebUtility.HtmlDecode(a.Groups[1].Value) : url;

        var response = await http.PostAsync(new Uri(http.BaseAddress!, action), new FormUrlEncodedContent(values));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (response.RequestMessage!.RequestUri!, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A Blazor form by its FormName.</summary>
    public static Func<string, bool> Named(string formName) => form => form.Contains($"value=\"{formName}\"");

    public Task<(Uri Url, string Html)> RegisterAsync(string email, string password) =>
        SubmitAsync("/Account/Register", Named("register"), new Dictionary<string, string>
        {
            ["Input.Email"] = email, ["Input.Password"] = password, ["Input.ConfirmPassword"] = password,
        });

    public Task<(Uri Url, string Html)> LogInAsync(string email, string password) =>
        SubmitAsync("/Account/Login", Named("login"), new Dictionary<string, string>
        {
            ["Input.Email"] = email, ["Input.Password"] = password,
        });

    public Task<(Uri Url, string Html)> LogOutAsync() =>
        SubmitAsync("/", form => form.Contains("action=\"Account/Logout\""), new Dictionary<string, string> { ["ReturnUrl"] = "" });

    [GeneratedRegex(@"<form\b.*?</form>", RegexOptions.Singleline)]
    private static partial Regex FormPattern();

    [GeneratedRegex(@"<input type=""hidden"" name=""(?<name>[^""]+)"" value=""(?<value>[^""]*)""")]
    private static partial Regex HiddenPattern();

    [GeneratedRegex(@"^<form\b[^>]*\baction=""([^""]+)""")]
    private static partial Regex ActionPattern();
}
