using System.ComponentModel.DataAnnotations;

namespace TransferHub.Web.Features.Sample;

/// <summary>The sample a fresh installation starts with (section "Sample"): a demo account, team, project and a
/// split dataset, so a newcomer can sign in and train at once. Only ever applied to a database without accounts.</summary>
public sealed class SampleOptions
{
    public const string Section = "Sample";

    public bool Enabled { get; set; }

    [Required, EmailAddress]
    public string Email { get; set; } = "demo@transferhub.local";

    /// <summary>The demo account's password (shown in the README and logged at start): change it, or disable the
    /// sample, anywhere other people can reach.</summary>
    [Required, MinLength(8)]
    public string Password { get; set; } = "Demo-pass-1";

    /// <summary>A folder-per-class image folder; relative to the content root (web/).</summary>
    [Required]
    public string Folder { get; set; } = "../samples/fashion-mnist";

    /// <summary>Which class folders to import (empty: all).</summary>
    public string[] Classes { get; set; } = ["tshirt", "trouser", "bag", "sneaker"];
}
