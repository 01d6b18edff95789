"""Registry import: parse + check + match of a 5,000-row spreadsheet.

Generates, with a fixed seed, a 5,000-row health-point application form (title, merged
contact block, the form's header with line breaks) in xlsx, with the mistakes staff make
in about 3 % of rows, and a 5,000-row plain list with GCJ-02 coordinates. Times, best of
three, wall-clock and CPU time: reading the sheet alone, the whole ``parse_import`` (read, find the table, check
every cell, duplicates, match against nothing), and re-importing the same file against
its own 5,000 records (every row matched and compared: all unchanged). Geocoding is not
part of it. Prints a markdown report.

Usage: ``python bench/bench_import.py [--rows 5000]``
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import time
from pathlib import Path

import openpyxl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_line

from geo.crs import from_wgs84
from layers.registry.importing import ImportLimits, facility_fields, parse_import
from layers.registry.importing.pipeline import clear_caches
from layers.registry.importing.readers import OpenedFile
from layers.registry.schema import Facility

ROADS = ["漕溪北路", "宜山路", "虹桥路", "中山西路", "天钥桥路", "龙华路", "田林路", "钦州路",
         "桂林路", "龙吴路", "凯旋路", "肇嘉浜路", "衡山路", "淮海中路", "华山路", "徐虹北路"]
PARKS = ["漕河泾开发区", "徐汇滨江", "华泾园区", "田林科技园", "龙华商圈", "徐家汇商圈",
         "枫林生命科学园", "康健园区"]
SERVICES = ["健康咨询", "血压测量", "配药", "中医保健", "健康评估", "健康讲座"]
TIMES = ["每周三中午12:00-13:00", "周一至周五 9:00-11:00", "工作日 12:00-13:00",
         "每周二、周四下午1:30-4:30", "每月第一个周二下午"]


def health_form_rows(n_rows: int, seed: int = 2023) -> list[list[object]]:
    """The data rows of a generated health-point form (about 3 % with a mistake)."""
    generator = random.Random(seed)
    rows = []
    for i in range(n_rows):
        road = generator.choice(ROADS)
        park = generator.choice(PARKS)
        phone = f"13{generator.randint(0, 9)}{generator.randint(10**7, 10**8 - 1)}"
        mistake = generator.random()
        if mistake < 0.01:
            phone = phone[:-1]  # one digit short
        services = "、".join(generator.sample(SERVICES, generator.randint(1, 4)))
        name = f"{park}{road}{i + 1}号楼健康服务点"
        firms: object = generator.randint(5, 300)
        if mistake > 0.99:
            firms = str(firms).translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
        rows.append([
            i + 1, generator.choice(["新建", "升级"]), park, firms, generator.randint(100, 8000),
            None if 0.01 <= mistake < 0.02 else name, f"{road}{generator.randint(1, 3000)}号",
            "张医生", phone, f"{generator.choice(TIMES)} {services}",
        ])
    return rows


def health_form_xlsx(n_rows: int) -> bytes:
    """A health-point application form with ``n_rows`` rows, as the union's template."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "申报表"
    sheet.append(["2023 年园区（楼宇）健康服务点申报表"])
    sheet.append(["区（街道）", None, "徐汇区", None, "联系人姓名", None, "王敏"])
    sheet.append(["联系人邮箱", None, "wangmin@example.com", None, "联系人手机", None, "13912345678"])
    sheet.append(["序号", "类型（新建/\n升级）", "所在园区（楼宇、\n商圈）名称", "企业数", "职工数",
                  "推荐站点名称", "地址", "负责人", "手机", "服务内容及时间"])
    for merge in ("A1:J1", "A2:B2", "C2:D2", "E2:F2", "G2:J2", "A3:B3", "C3:D3", "E3:F3", "G3:J3"):
        sheet.merge_cells(merge)
    for row in health_form_rows(n_rows):
        sheet.append(row)
    sheet.append(["注：请于 2023 年 2 月 6 日前发送"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def located_list_xlsx(n_rows: int, seed: int = 7) -> bytes:
    """A plain relay-station list with GCJ-02 coordinates (converted on import)."""
    generator = random.Random(seed)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["统一编号", "名称", "地址", "经度_gcj02", "纬度_gcj02", "电话", "开放时间"])
    for i in range(n_rows):
        lon, lat = from_wgs84(generator.uniform(121.2, 121.8), generator.uniform(30.9, 31.4), "gcj02")
        sheet.append([f"R{i:05d}", f"爱心接力站{i + 1}", f"{generator.choice(ROADS)}{i + 1}号",
                      round(lon, 6), round(lat, 6), f"021-6{generator.randint(10**6, 10**7 - 1)}",
                      "24小时" if i % 3 else "周一至周五 9:00-17:00"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def timed(fn, repeat: int = 3) -> tuple[float, float]:
    """The fastest of ``repeat`` runs: (wall-clock seconds, CPU seconds of this process)."""
    runs = []
    for _ in range(repeat):
        clear_caches()  # every run starts cold, as a new upload does
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        runs.append((time.perf_counter() - wall, time.process_time() - cpu))
    return min(runs)


def as_records(result, layer: str) -> list[Facility]:
    """The rows without errors as Facility records (what a store would hold)."""
    return [Facility(id=f"{layer}:b{i}", source="bench", **facility_fields(row, layer))
            for i, row in enumerate(result.rows) if not row.has_errors]


def _cell(times: tuple[float, float]) -> str:
    return f"{times[0]:.2f} s ({times[1]:.2f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args()
    limits = ImportLimits()
    print(f"Machine: {machine_line()}.\n")
    print("| file | rows | size | read sheet | parse + check + match (new) | "
          "re-import vs own records | outcome |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for label, layer, data in (
        ("health-point form (xlsx)", "health_point", health_form_xlsx(args.rows)),
        ("relay-station list, GCJ-02 (xlsx)", "relay_station", located_list_xlsx(args.rows)),
    ):
        def read(data=data) -> None:
            opened = OpenedFile(data, "bench.xlsx", limits)
            opened.load(opened.sheets[0])

        read_s = timed(read)
        result = parse_import(data, "bench.xlsx", layer)
        parse_s = timed(lambda data=data, layer=layer: parse_import(data, "bench.xlsx", layer))
        records = as_records(result, layer)
        again = parse_import(data, "bench.xlsx", layer, existing=records)
        actions = {action: sum(m.action == action for m in again.matches)
                   for action in ("created", "updated", "unchanged")}
        match_s = timed(lambda data=data, layer=layer, records=records: parse_import(
            data, "bench.xlsx", layer, existing=records))
        summary = result.summary()
        outcome = (f"{summary['rows_with_errors']} rows with errors, {summary['warnings']} "
                   f"warnings; re-import: {actions['unchanged']} unchanged, "
                   f"{actions['updated']} updated, {actions['created']} created")
        print(f"| {label} | {len(result.rows):,} | {len(data) / 1024:.0f} KB | {_cell(read_s)} | "
              f"{_cell(parse_s)} | {_cell(match_s)} | {outcome} |")
    load = os.getloadavg()[0]
    print(f"\nEach cell: wall-clock seconds (CPU seconds of the process), best of three; the "
          f"1-minute load average was {load:.1f} on {os.cpu_count()} cores when it ended, so "
          "wall-clock time above CPU time is time spent waiting for a core. Geocoding is not "
          "included (the rows that need it are only listed).")


if __name__ == "__main__":
    main()
