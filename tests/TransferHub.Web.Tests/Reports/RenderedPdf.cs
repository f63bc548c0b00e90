using System.ComponentModel;
using System.Diagnostics;
using System.Text.RegularExpressions;
using SkiaSharp;

namespace TransferHub.Web.Tests.Reports;

/// <summary>A PDF written to a temporary folder and read back with poppler-utils (<c>pdfinfo</c>, <c>pdftotext</c>,
/// <c>pdftoppm</c>), as a person's viewer would read it. CI installs poppler-utils (.ci/run).</summary>
public sealed partial class RenderedPdf : IDisposable
{
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromMinutes(1);
    private readonly string _folder = Directory.CreateTempSubdirectory("transferhub-report-").FullName;

    public RenderedPdf(byte[] pdf)
    {
        Path = System.IO.Path.Combine(_folder, "report.pdf");
        File.WriteAllBytes(Path, pdf);
    }

    public string Path { get; }

    public int PageCount => int.Parse(PagesLine().Match(Run("pdfinfo", Path)).Groups[1].Value);

    /// <summary>Each page's text as <c>pdftotext -layout</c> extracts it (columns kept apart by spaces).</summary>
    public IReadOnlyList<string> PageTexts()
    {
        var pages = Run("pdftotext", "-layout", Path, "-").Split('\f');
        return pages[^1].Trim().Length == 0 ? pages[..^1] : pages;
    }

    /// <summary>Renders every page with <c>pdftoppm -png</c> and decodes the images.</summary>
    public IReadOnlyList<SKBitmap> RenderPages(int dpi)
    {
        var prefix = System.IO.Path.Combine(_folder, "page");
        Run("pdftoppm", "-png", "-r", $"{dpi}", Path, prefix);
        return Directory.GetFiles(_folder, "page*.png").Order(StringComparer.Ordinal)
            .Select(f => SKBitmap.Decode(f) ?? throw new InvalidDataException($"pdftoppm wrote an unreadable {f}")).ToList();
    }

    /// <summary>The share of pixels that are clearly not white paper.</summary>
    public static double InkShare(SKBitmap page)
    {
        var inked = 0;
        for (var y = 0; y < page.Height; y++)
            for (var x = 0; x < page.Width; x++)
            {
                var c = page.GetPixel(x, y);
                if (c.Red + c.Green + c.Blue < 3 * 235)
                    inked++;
            }
        return (double)inked / (page.Width * page.Height);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static string Run(string tool, params string[] arguments)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"{tool} is missing: install poppler-utils (apt-get install poppler-utils).", e);
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(ToolTimeout))
            {
                process.Kill();
                throw new TimeoutException($"{tool} did not finish within {ToolTimeout}.");
            }
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"{tool} failed ({process.ExitCode}): {errors.Result}");
            return output.Result;
        }
    }

    [GeneratedRegex(@"^Pages:\s+(\d+)", RegexOptions.Multiline)]
    private static partial Regex PagesLine();
}
