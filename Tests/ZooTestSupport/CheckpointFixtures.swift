import Foundation

/// Hand-made PyTorch checkpoints (zip archive + pickle), including broken ones.
public enum CheckpointFixtures {
    /// A zip archive of stored entries, as torch.save writes, optionally lying about a size.
    public static func zip(_ entries: [(String, Data)], claimedSize: [String: Int] = [:]) -> Data {
        var out = Data(), directory = Data()
        func u16(_ v: Int, _ d: inout Data) { withUnsafeBytes(of: UInt16(v).littleEndian) { d.append(contentsOf: $0) } }
        func u32(_ v: Int, _ d: inout Data) { withUnsafeBytes(of: UInt32(v).littleEndian) { d.append(contentsOf: $0) } }
        for (name, contents) in entries {
            let offset = out.count, size = claimedSize[name] ?? contents.count
            u32(0x0403_4B50, &out); u16(20, &out); u16(0, &out); u16(0, &out); u16(0, &out); u16(0, &out)
            u32(0, &out); u32(size, &out); u32(size, &out); u16(name.utf8.count, &out); u16(0, &out)
            out.append(Data(name.utf8)); out.append(contents)
            u32(0x0201_4B50, &directory); u16(20, &directory); u16(20, &directory); u16(0, &directory); u16(0, &directory)
            u16(0, &directory); u16(0, &directory); u32(0, &directory); u32(size, &directory); u32(size, &directory)
            u16(name.utf8.count, &directory); u16(0, &directory); u16(0, &directory); u16(0, &directory); u16(0, &directory)
            u32(0, &directory); u32(offset, &directory); directory.append(Data(name.utf8))
        }
        let directoryOffset = out.count
        out.append(directory)
        u32(0x0605_4B50, &out); u16(0, &out); u16(0, &out); u16(entries.count, &out); u16(entries.count, &out)
        u32(directory.count, &out); u32(directoryOffset, &out); u16(0, &out)
        return out
    }

    /// A protocol-2 pickle of {"w": tensor of 2 floats from storage "0"}.
    public static func pickle(global: String = "torch._utils\n_rebuild_tensor_v2\n") -> Data {
        var p = Data([0x80, 0x02, 0x7D, 0x71, 0x00])                  // PROTO 2, EMPTY_DICT, BINPUT 0
        p.append(0x58); p.append(contentsOf: [1, 0, 0, 0]); p.append(Data("w".utf8))   // BINUNICODE "w"
        p.append(0x63); p.append(Data(global.utf8))                   // GLOBAL
        p.append(0x28)                                                // MARK (the call's arguments)
        p.append(0x28)                                                // MARK (persistent id tuple)
        p.append(0x58); p.append(contentsOf: [7, 0, 0, 0]); p.append(Data("storage".utf8))
        p.append(0x63); p.append(Data("torch\nFloatStorage\n".utf8))
        p.append(0x58); p.append(contentsOf: [1, 0, 0, 0]); p.append(Data("0".utf8))
        p.append(0x58); p.append(contentsOf: [3, 0, 0, 0]); p.append(Data("cpu".utf8))
        p.append(contentsOf: [0x4B, 2, 0x74, 0x51])                   // BININT1 2, TUPLE, BINPERSID
        p.append(contentsOf: [0x4B, 0, 0x4B, 2, 0x85, 0x4B, 1, 0x85, 0x89])  // offset 0, (2,), (1,), False
        p.append(0x63); p.append(Data("collections\nOrderedDict\n".utf8)); p.append(contentsOf: [0x29, 0x52])  // OrderedDict()
        p.append(contentsOf: [0x74, 0x52, 0x73, 0x2E])                // TUPLE (args), REDUCE, SETITEM, STOP
        return p
    }
}
