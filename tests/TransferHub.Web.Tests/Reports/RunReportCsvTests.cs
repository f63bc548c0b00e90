using System.Globalization;
using TransferHub.Web.Features;
using TransferHub.Web.Features.Reports;

namespace TransferHub.Web.Tests.Reports;

public sealed class RunReportCsvTests
{
    [Fact]
    public void PerClassCsvReadsBackToTheSameNamesAndExactNumbers()
    {
        var standard = ReportSamples.Standard();
        var report = standard with
        {
            ClassNames = ["cat", "coffee, espresso", "the \"astronaut\""],
            PerClass = [standard.PerClass[0], standard.PerClass[1], standard.PerClass[2] with { ClassName = "the \"astronaut\"" }],
        };

        var csv = RunReportRenderer.PerClassCsv(report);
        var records = Rfc4180.Parse(csv);

        Assert.Contains("\"coffee, espresso\",", csv);
        Assert.Contains("\"the \"\"astronaut\"\"\",", csv);
        Assert.Equal(["class", "precision", "recall", "f1", "support", "evaluated_split"], records[0]);
        Assert.Equal(6, records.Count);
        Assert.All(records, r => Assert.Equal(6, r.Length));
        ReportClassRow[] expected = [.. report.PerClass, report.MacroAverage with { ClassName = "macro avg" },
            report.WeightedAverage with { ClassName = "weighted avg" }];
        Assert.Equal(expected, records.Skip(1).Select(r => new ReportClassRow(r[0],
            double.Parse(r[1], CultureInfo.InvariantCulture), double.Parse(r[2], CultureInfo.InvariantCulture),
            double.Parse(r[3], CultureInfo.InvariantCulture), int.Parse(r[4], CultureInfo.InvariantCulture))));
    }

    [Fact]
    public void PredictionsCsvHasOneRecordPerImageWithQuotedNamesAndWhetherItWasRight()
    {
        var report = ReportSamples.Standard();

        var records = Rfc4180.Parse(RunReportRenderer.PredictionsCsv(report));

        Assert.Equal(["sha256", "original_name", "true_class", "predicted_class", "confidence", "correct", "split"], records[0]);
        Assert.Equal(report.Predictions.Count, records.Count - 1);
        Assert.Equal(report.Predictions, records.Skip(1).Select(r =>
            new ReportPrediction(r[0], r[1], r[2], r[3], double.Parse(r[4], CultureInfo.InvariantCulture))));
        Assert.Equal(["IMG_0001, copy.jpg", "say \"cheese\".jpg", "two\nlines.png"], records.Skip(1).Take(3).Select(r => r[1]));
        Assert.Equal(report.Predictions.Select(p => p.TrueClass == p.PredictedClass ? "true" : "false"), records.Skip(1).Select(r => r[5]));
        Assert.Equal(9, records.Count(r => r[5] == "false"));
    }

    [Fact]
    public void EveryCsvRowSaysWhichSplitItsNumbersWereMeasuredOn()
    {
        // shared/cases train-split-only.zip: a run without held-out images is evaluated on its training images, and the
        // CSVs must not pass its numbers off as test results.
        var report = ReportSamples.Standard() with { EvaluatedSplit = "train" };

        var perClass = Rfc4180.Parse(RunReportRenderer.PerClassCsv(report));
        var predictions = Rfc4180.Parse(RunReportRenderer.PredictionsCsv(report));

        Assert.Equal("evaluated_split", perClass[0][^1]);
        Assert.All(perClass.Skip(1), r => Assert.Equal("train", r[^1]));
        Assert.Equal("split", predictions[0][^1]);
        Assert.All(predictions.Skip(1), r => Assert.Equal("train", r[^1]));
        Assert.All(Rfc4180.Parse(RunReportRenderer.PerClassCsv(ReportSamples.Standard())).Skip(1), r => Assert.Equal("test", r[^1]));
    }

    [Fact]
    public void CsvUsesTheInvariantCultureAndBareLineFeedsWhateverTheServerCulture()
    {
        var report = ReportSamples.Standard() with { ClassNames = ["a"], PerClass = [new ReportClassRow("a", 0.5, 0.25, 1d / 3, 1234)] };
        var culture = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = new CultureInfo("de-DE");
            var perClass = RunReportRenderer.PerClassCsv(report);
            var predictions = RunReportRenderer.PredictionsCsv(ReportSamples.Standard());

            Assert.StartsWith("class,precision,recall,f1,support,evaluated_split\na,0.5,0.25,0.3333333333333333,1234,test\n", perClass);
            Assert.DoesNotContain('\r', perClass);
            Assert.DoesNotContain('\r', predictions);
            Assert.EndsWith("\n", predictions);
            Assert.DoesNotContain(Rfc4180.Parse(predictions).Skip(1), r => r[4].Contains(','));
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
    }

    [Fact]
    public void PerClassCsvNeutralisesClassNamesThatASpreadsheetWouldEvaluate()
    {
        var report = ReportSamples.Formulas();

        var csv = RunReportRenderer.PerClassCsv(report);
        var records = Rfc4180.Parse(csv);

        // OWASP CSV injection: a leading =, +, -, @, tab or CR gets a single quote in front; the rest of the cell is kept.
        Assert.Equal(["'=1+2", "'@SUM(1+1)", "'+3-1", "'-4+1", "'\tHYPERLINK(\"x\")", "'\r=2*3", "macro avg", "weighted avg"],
            records.Skip(1).Select(r => r[0]));
        Assert.StartsWith("class,precision,recall,f1,support,evaluated_split\n'=1+2,", csv);
        Assert.Contains("\n\"'\tHYPERLINK(\"\"x\"\")\",", csv);
        Assert.Contains("\n\"'\r=2*3\",", csv);
        // The numbers are still numbers, read back exactly.
        Assert.Equal(report.PerClass.Select(r => (r.Precision, r.Support)), records.Skip(1).Take(6).Select(r =>
            (double.Parse(r[1], CultureInfo.InvariantCulture), int.Parse(r[4], CultureInfo.InvariantCulture))));
    }

    [Fact]
    public void PredictionsCsvNeutralisesFileNamesAndClassNamesThatASpreadsheetWouldEvaluate()
    {
        var report = ReportSamples.Formulas();

        var records = Rfc4180.Parse(RunReportRenderer.PredictionsCsv(report));

        Assert.Equal(["'=cmd|' /C calc'!A0.png", "'@evil.jpg", "'-1.png", "'+1, \"two\".png", "'\tcat.jpg", "'\rdog.jpg", "a;=1+2.png"],
            records.Skip(1).Take(7).Select(r => r[1]));
        Assert.Equal(report.Predictions.Skip(7).Select(p => "'" + p.OriginalName), records.Skip(8).Select(r => r[1]));
        Assert.Equal(report.Predictions.Select(p => "'" + p.TrueClass), records.Skip(1).Select(r => r[2]));
        Assert.Equal(report.Predictions.Select(p => "'" + p.PredictedClass), records.Skip(1).Select(r => r[3]));
        Assert.Equal(report.Predictions.Select(p => p.Confidence), records.Skip(1).Select(r => double.Parse(r[4], CultureInfo.InvariantCulture)));
        Assert.All(records.Skip(1), r => Assert.Matches("^[0-9a-f]{64}$", r[0]));
    }

    [Fact]
    public void NumbersTheProductWritesStayNumbersWhileTextIsAlwaysNeutralised()
    {
        Assert.Equal("-0.5", SafeCsv.Field(CsvCell.Number(-0.5)));
        Assert.Equal("-3", SafeCsv.Field(CsvCell.Number(-3)));
        Assert.Equal("'-0.5", SafeCsv.Field("-0.5"));
        Assert.Equal("\"'=1+2,3\"", SafeCsv.Field("=1+2,3"));
        Assert.Equal("\"'=\"\"a\"\"\"", SafeCsv.Field("=\"a\""));
        Assert.Equal("\"a;=1+2\"", SafeCsv.Field("a;=1+2")); // a semicolon-splitting spreadsheet keeps it one cell
        Assert.Equal("plain name", SafeCsv.Field("plain name"));
        Assert.Equal("", SafeCsv.Field(""));
        Assert.Equal("a,'=b\n", new SafeCsv().Record("a", "=b").ToString());
    }

    [Fact]
    public void AZeroSupportClassGetsZerosNotNaN()
    {
        var report = ReportSamples.ManyClasses(20);

        var csv = RunReportRenderer.PerClassCsv(report);

        Assert.DoesNotContain("NaN", csv);
        var empty = Rfc4180.Parse(csv).Single(r => r[0].StartsWith("Class 05 "));
        Assert.Equal(["0", "0", "0", "0", "val"], empty[1..]);
    }
}
