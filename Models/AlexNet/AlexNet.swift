// AlexNet: A. Krizhevsky, I. Sutskever, G. E. Hinton, "ImageNet Classification with Deep
// Convolutional Neural Networks", NeurIPS 2012 — in torchvision's single-tower variant
// (after Krizhevsky 2014, "One weird trick…"): 64 channels in conv1 instead of 96, no local
// response normalisation, no grouped convolutions, and an adaptive 6×6 average pool so any
// input of at least 63×63 works.
import ZooNN
import ZooTensor

/// torchvision's AlexNet. Keys: `features.{0,3,6,8,10}` (convs), `classifier.{1,4,6}` (linear).
public func alexnet(classCount: Int = 1000, inputChannels: Int = 3, dropout: Float = 0.5) -> Sequential {
    Sequential(named: [
        ("features", Sequential([
            Conv2d(inputChannels, 64, kernel: 11, stride: 4, padding: 2), ReLU(), MaxPool2d(3, stride: 2),
            Conv2d(64, 192, kernel: 5, padding: 2), ReLU(), MaxPool2d(3, stride: 2),
            Conv2d(192, 384, kernel: 3, padding: 1), ReLU(),
            Conv2d(384, 256, kernel: 3, padding: 1), ReLU(),
            Conv2d(256, 256, kernel: 3, padding: 1), ReLU(), MaxPool2d(3, stride: 2),
        ])),
        ("avgpool", AdaptiveAvgPool2d((6, 6))),
        ("flatten", Flatten()),
        ("classifier", Sequential([
            Dropout(dropout), Linear(256 * 6 * 6, 4096), ReLU(),
            Dropout(dropout), Linear(4096, 4096), ReLU(),
            Linear(4096, classCount),
        ])),
    ])
}

/// The AlexNet family's model.
public enum AlexNetFamily: ModelFamily {
    public static let entries = [
        ModelEntry("alexnet", family: "AlexNet", input: ModelEntry.imageNetInput, classifier: ["classifier.6"], explain: "features") {
            alexnet(classCount: $0.classCount, inputChannels: $0.input[0])
        },
    ]
}
