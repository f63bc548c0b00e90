namespace TransferHub.Web.Data;

/// <summary>
/// One image the latest label-issue search of its dataset flagged (confident learning, Northcutt et al. 2021): its
/// content, the label it had then and the one suggested, and its out-of-fold self-confidence p(given). A new search
/// replaces all of a dataset's rows. The gallery shows a row only while the image still carries
/// <see cref="GivenClassId"/> and nobody kept that label (<see cref="KeptLabel"/>).
/// </summary>
public class LabelIssueFinding
{
    public long Id { get; set; }
    public int DatasetId { get; set; }
    /// <summary>The image's content (images are one row per content within a dataset).</summary>
    public required string Sha256 { get; set; }
    public int GivenClassId { get; set; }
    /// <summary>Null when the suggested class no longer exists.</summary>
    public int? SuggestedClassId { get; set; }
    /// <summary>p(given class), out of fold, 0–1: issues rank by it, lowest first.</summary>
    public double SelfConfidence { get; set; }
    public double SuggestedProbability { get; set; }
    /// <summary>Flagged by confident learning as likely mislabelled.</summary>
    public bool LikelyMislabelled { get; set; }
    /// <summary>Far from every class mean (Tukey's fence on the distance to the nearest one).</summary>
    public bool Outlier { get; set; }
    public DateTime FoundAt { get; set; }

    public Dataset? Dataset { get; set; }
}

/// <summary>"Keep label": an editor looked at a flagged image and kept its label. Remembered per dataset, image content
/// and class, so later searches do not flag it again with that label (a relabelled image can be flagged again).</summary>
public class KeptLabel
{
    public long Id { get; set; }
    public int DatasetId { get; set; }
    public required string Sha256 { get; set; }
    public int ClassId { get; set; }
    /// <summary>Null when the account was deleted.</summary>
    public string? KeptByUserId { get; set; }
    public DateTime KeptAt { get; set; }

    public Dataset? Dataset { get; set; }
}
