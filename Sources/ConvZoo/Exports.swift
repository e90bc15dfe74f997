// `import ConvZoo` is the one import a user needs: the front door (`Zoo`, `ZooModel`) and the
// public types it hands out or takes — tensors, modules, images, data sets, training recipes,
// weight files, the model registry, pictures and data-parallel training over MPI.
@_exported import ZooData
@_exported import ZooDistributed
@_exported import ZooDraw
@_exported import ZooFetch
@_exported import ZooImage
@_exported import ZooInference
@_exported import ZooModels
@_exported import ZooNN
@_exported import ZooTensor
@_exported import ZooTrain
@_exported import ZooWeights
