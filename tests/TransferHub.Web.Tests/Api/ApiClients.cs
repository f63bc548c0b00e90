using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Features.Api;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Api;

/// <summary>HTTP clients that call the API the way a script does: a personal access token in the Authorization header,
/// no cookies; and reading its JSON and problem-details answers.</summary>
internal static class ApiClients
{
    /// <summary>A client with a fresh token of <paramref name="userId"/>, made through the token service.</summary>
    public static async Task<HttpClient> ApiClientAsync(this WebAppFactory app, string userId, DateTime? expiresAt = null)
    {
        var token = await app.InScopeAsync(s => s.GetRequiredService<PersonalAccessTokenService>().CreateAsync(userId, "tests", expiresAt));
        return app.BearerClient(token.Secret);
    }

    public static HttpClient BearerClient(this WebAppFactory app, string? secret)
    {
        var client = app.CreateClient(new() { HandleCookies = false, AllowAutoRedirect = false });
        if (secret is not null)
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        return client;
    }

    /// <summary>The JSON body of a response that must have <paramref name="status"/>.</summary>
    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response, HttpStatusCode status = HttpStatusCode.OK)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Asserts an RFC 7807 answer with <paramref name="status"/>; returns its detail.</summary>
    public static async Task<string> ProblemAsync(this HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        return problem.TryGetProperty("detail", out var detail) ? detail.GetString() ?? "" : "";
    }

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string url, object body) =>
        client.PostAsync(url, new StringContent(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json"));

    public static Task<HttpResponseMessage> PutJsonAsync(this HttpClient client, string url, object body) =>
        client.PutAsync(url, new StringContent(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json"));

    public static Task<HttpResponseMessage> PostBytesAsync(this HttpClient client, string url, byte[] body, string contentType)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return client.PostAsync(url, content);
    }
}
