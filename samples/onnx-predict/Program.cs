using TransferHub.Samples.OnnxPredict;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: onnx-predict <model.onnx> <image> [<image> …]");
    return 2;
}
using var classifier = new OnnxImageClassifier(args[0]);
foreach (var path in args.Skip(1))
{
    var top = classifier.Classify(File.ReadAllBytes(path)).Take(3);
    Console.WriteLine($"{path}: {string.Join(", ", top.Select(p => $"{p.ClassName} {p.Probability:P1}"))}");
}
return 0;
