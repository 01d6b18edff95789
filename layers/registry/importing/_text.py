"""CSV and tab-separated text: the encoding and the delimiter.

Chinese Excel saves "CSV" in GBK (GB18030 is its superset) and "Unicode text" as
tab-separated UTF-16; other tools write UTF-8 with or without a byte-order mark. The
detection is deterministic:

1. a byte-order mark decides (UTF-8, UTF-16 LE/BE);
2. otherwise the bytes are decoded strictly as UTF-8 and as GB18030; when only one
   succeeds it is the encoding;
3. when both succeed (short GBK texts are often valid UTF-8 by chance), the decoding
   whose non-ASCII characters are more often common Chinese (GB2312 level-1 hanzi and
   CJK punctuation) wins; a tie goes to UTF-8.

General-purpose detectors (chardet, charset-normalizer) guess among dozens of encodings
and are unreliable on the few hundred bytes of a short list, where this choice between
two is not.
"""

from __future__ import annotations

import codecs
import csv
import io

from layers.registry.importing.errors import ImportFileError

_CANDIDATE_DELIMITERS = ("\t", ",", ";", "|")
_COMMON_PUNCTUATION = frozenset("，。、：；（）“”‘’《》【】！？—…·～￥％＋－／＝")


def _not_text() -> ImportFileError:
    return ImportFileError(
        "import_not_spreadsheet",
        "文件不是电子表格（xlsx、xls、ods 或 csv），无法读取。",
        "the file is not a spreadsheet (xlsx, xls, ods or csv)",
    )


def _common_share(text: str) -> float:
    """Share of the non-ASCII characters that are common Chinese characters or punctuation."""
    non_ascii = 0
    common = 0
    for char in text:
        if char.isascii():
            continue
        non_ascii += 1
        if char in _COMMON_PUNCTUATION or "\uff01" <= char <= "\uff5e":
            common += 1
            continue
        try:
            encoded = char.encode("gb2312")
        except UnicodeEncodeError:
            continue
        if 0xB0 <= encoded[0] <= 0xD7:  # GB2312 level 1: the 3,755 most common hanzi
            common += 1
    return common / non_ascii if non_ascii else 1.0


def _bad_encoding(data: bytes) -> ImportFileError:
    try:
        data.decode("utf-8")
        offset = 0
    except UnicodeDecodeError as exc:
        offset = exc.start
    line = data[:offset].count(b"\n") + 1
    return ImportFileError(
        "import_bad_encoding",
        f"文件编码无法识别：既不是 UTF-8 也不是 GBK/GB18030（第 {line} 行附近有无效字节）。"
        "请在 Excel 中另存为“CSV UTF-8”后上传。",
        f"the text is neither UTF-8 nor GBK/GB18030 (an invalid byte near line {line}); "
        "save it from Excel as 'CSV UTF-8' and upload again",
    )


def _looks_binary(data: bytes) -> bool:
    """NUL bytes, or more than 1% control characters other than tab and line breaks."""
    sample = data[:65536]
    if b"\x00" in sample:
        return True
    controls = sum(1 for byte in sample if byte < 32 and byte not in (9, 10, 13))
    return controls > len(sample) / 100


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes; return ``(text, encoding)``.

    Raises
    ------
    ImportFileError
        ``import_not_spreadsheet`` for binary data, ``import_bad_encoding`` for text in
        none of the supported encodings.
    """
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            raise _bad_encoding(data[len(codecs.BOM_UTF8) :]) from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise _not_text() from None
    if _looks_binary(data):
        raise _not_text()
    decoded: dict[str, str] = {}
    for encoding in ("utf-8", "gb18030"):
        try:
            decoded[encoding] = data.decode(encoding)
        except UnicodeDecodeError:
            continue
    if not decoded:
        raise _bad_encoding(data)
    if len(decoded) == 2 and _common_share(decoded["gb18030"]) > _common_share(decoded["utf-8"]):
        del decoded["utf-8"]
    encoding, text = next(iter(decoded.items()))
    return text, encoding


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most consistent columns.

    Each candidate (tab, comma, semicolon, bar) splits the first 30 non-blank lines with
    the csv module's quoting rules; the one whose most frequent field count (above 1)
    occurs on the most lines wins, ties going to the candidate listed first.
    """
    lines = [line for line in text.splitlines()[:200] if line.strip()][:30]
    sample = "\n".join(lines)
    best = ","
    best_score = (0, 0)
    for delimiter in _CANDIDATE_DELIMITERS:
        counts: dict[int, int] = {}
        for fields in csv.reader(io.StringIO(sample), delimiter=delimiter):
            counts[len(fields)] = counts.get(len(fields), 0) + 1
        usable = {n: times for n, times in counts.items() if n > 1}
        if not usable:
            continue
        mode = max(usable, key=lambda n: (usable[n], n))
        score = (usable[mode], mode)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def read_csv_rows(text: str, delimiter: str, max_rows: int) -> list[list[str]]:
    """Rows of the text as lists of strings; one list per record (Excel's rows).

    Raises
    ------
    ImportFileError
        When there are more than ``max_rows + 100`` records or the quoting is broken.
    """
    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for fields in reader:
            rows.append(fields)
            if len(rows) > max_rows + 100:
                raise ImportFileError(
                    "import_too_many_rows",
                    f"表格超过 {max_rows} 行，请分成几个文件上传。",
                    f"the file has more than {max_rows} rows; split it into several files",
                )
    except csv.Error as exc:
        raise ImportFileError(
            "import_corrupt",
            f"CSV 文件第 {reader.line_num} 行格式错误（引号不成对？）。",
            f"the CSV file is malformed at line {reader.line_num} ({exc})",
        ) from None
    return rows
