import Foundation
import ZooTensor

/// A read-only view of a zip archive: the central directory, and entries stored (method 0),
/// as torch.save writes them. Every size and offset is checked against the file before use.
struct ZipArchive {
    struct Entry {
        var name: String
        var method: Int
        var compressedSize: Int
        var size: Int
        var localHeaderOffset: Int
    }

    let data: Data
    let name: String
    private(set) var entries: [String: Entry] = [:]

    init(_ data: Data, name: String) throws {
        self.data = data
        self.name = name
        try readCentralDirectory()
    }

    static func looksLikeZip(_ data: Data) -> Bool {
        data.count >= 4 && data.prefix(4).elementsEqual([0x50, 0x4B, 0x03, 0x04])
    }

    private func fail(_ why: String) -> ZooError { ZooError("'\(name)' is not a readable zip archive: \(why)") }

    func uint(_ offset: Int, _ width: Int) throws -> Int {
        guard offset >= 0, offset <= data.count - width else { throw fail("a record at byte \(offset) runs past the end of the file") }
        var value: UInt64 = 0
        data.withUnsafeBytes { raw in
            for i in 0..<width { value |= UInt64(raw[offset + i]) << UInt64(8 * i) }
        }
        guard value <= UInt64(Int.max) else { throw fail("a size field is out of range") }
        return Int(value)
    }

    private mutating func readCentralDirectory() throws {
        // The end-of-central-directory record: the last 22 bytes, or earlier by a comment.
        let earliest = max(0, data.count - 22 - 65_535)
        var end = -1
        var position = data.count - 22
        while position >= earliest {
            if try uint(position, 4) == 0x0605_4B50 { end = position; break }
            position -= 1
        }
        guard end >= 0 else { throw fail("it has no end-of-central-directory record") }
        var count = try uint(end + 10, 2)
        var directorySize = try uint(end + 12, 4)
        var directoryOffset = try uint(end + 16, 4)
        if count == 0xFFFF || directoryOffset == 0xFFFF_FFFF || directorySize == 0xFFFF_FFFF {
            // ZIP64: a locator just before the record points at the 64-bit record.
            guard end >= 20, try uint(end - 20, 4) == 0x0706_4B50 else { throw fail("its ZIP64 locator is missing") }
            let record = try uint(end - 20 + 8, 8)
            guard try uint(record, 4) == 0x0606_4B50 else { throw fail("its ZIP64 end record is missing") }
            count = try uint(record + 32, 8)
            directorySize = try uint(record + 40, 8)
            directoryOffset = try uint(record + 48, 8)
        }
        guard directoryOffset <= data.count, directorySize <= data.count - directoryOffset else {
            throw fail("its central directory claims bytes beyond the end of the file")
        }
        guard count <= directorySize / 46 + 1 else { throw fail("it claims \(count) entries in a \(directorySize)-byte directory") }
        var cursor = directoryOffset
        for _ in 0..<count {
            guard try uint(cursor, 4) == 0x0201_4B50 else { throw fail("a central directory entry is damaged") }
            let method = try uint(cursor + 10, 2)
            var compressed = try uint(cursor + 20, 4)
            var size = try uint(cursor + 24, 4)
            let nameLength = try uint(cursor + 28, 2), extraLength = try uint(cursor + 30, 2), commentLength = try uint(cursor + 32, 2)
            var localOffset = try uint(cursor + 42, 4)
            let nameStart = cursor + 46
            guard nameStart + nameLength + extraLength + commentLength <= data.count else { throw fail("an entry name runs past the end of the file") }
            let entryName = String(decoding: data[data.startIndex + nameStart ..< data.startIndex + nameStart + nameLength], as: UTF8.self)
            // ZIP64 extra field (id 1): 8-byte sizes and offset for the fields saturated above.
            var extra = nameStart + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = try uint(extra, 2), length = try uint(extra + 2, 2)
                if id == 1 {
                    var field = extra + 4
                    if size == 0xFFFF_FFFF { size = try uint(field, 8); field += 8 }
                    if compressed == 0xFFFF_FFFF { compressed = try uint(field, 8); field += 8 }
                    if localOffset == 0xFFFF_FFFF { localOffset = try uint(field, 8) }
                }
                extra += 4 + length
            }
            entries[entryName] = Entry(name: entryName, method: method, compressedSize: compressed, size: size, localHeaderOffset: localOffset)
            cursor = extraEnd + commentLength
        }
    }

    /// The bytes of entry `entryName` (stored entries only), checked against the file size.
    func contents(of entryName: String) throws -> Data {
        guard let entry = entries[entryName] else { throw fail("it has no entry '\(entryName)'") }
        guard entry.method == 0 else {
            throw fail("entry '\(entryName)' is compressed (method \(entry.method)); torch.save stores entries uncompressed")
        }
        let header = entry.localHeaderOffset
        guard try uint(header, 4) == 0x0403_4B50 else { throw fail("the local header of '\(entryName)' is damaged") }
        let start = header + 30 + (try uint(header + 26, 2)) + (try uint(header + 28, 2))
        guard entry.size == entry.compressedSize, start <= data.count, entry.size <= data.count - start else {
            throw fail("entry '\(entryName)' claims \(entry.size) bytes, more than the file holds")
        }
        return data.subdata(in: data.startIndex + start ..< data.startIndex + start + entry.size)
    }
}
