namespace TransferHub.Web.Data;

/// <summary>A label of a dataset. <see cref="Ordinal"/> is its index in a trained model's output.</summary>
public class DatasetClass
{
    public const int NameMaxLength = 100;

    public int Id { get; set; }
    public int DatasetId { get; set; }
    public required string Name { get; set; }
    public int Ordinal { get; set; }

    public Dataset? Dataset { get; set; }
}
