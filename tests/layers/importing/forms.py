"""Fixed test fixtures: the application forms of the 2023 plan, as grids, and file writers.

The forms follow the 2023 plan's annexes exactly (title, contact block, header cells,
footer); the data rows are invented but realistic, with the mistakes staff make: a
mobile number one digit short, a row without a name, full-width digits, ``约20㎡``,
``2023年12月底``. Writers turn a grid into xlsx (openpyxl, merged cells kept), ods
(odfpy, spans kept) and CSV bytes in any encoding.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils import range_boundaries

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
XUHUI_CSV = DATA_DIR / "registries" / "xuhui_community_health_centres_bd09.csv"
XLS_DIR = DATA_DIR / "importing"


@dataclass
class Grid:
    """A sheet: rows of cells (``None`` blank) and merged ranges in Excel notation."""

    rows: list[list[Any]]
    merges: list[str] = field(default_factory=list)
    sheet: str = "Sheet1"


HEALTH_TITLE = "2023 年园区（楼宇）健康服务点申报表"
HEALTH_HEADER = [
    "序号",
    "类型（新建/\n升级）",
    "所在园区（楼宇、\n商圈）名称",
    "企业数",
    "职工数",
    "推荐站点名称",
    "地址",
    "负责人",
    "手机",
    "服务内容及时间",
]


def health_point_form() -> Grid:
    """The 2023 health-point application form (申报表) with five data rows.

    Excel rows: 1 title, 2-3 contact block, 4 header, 5-9 data, 10 blank, 11 footer.
    Row 6 has a bad mobile (10 digits), row 7 no name, row 8 a full-width 企业数,
    row 9 monthly times that a weekly schedule cannot hold.
    """
    rows: list[list[Any]] = [
        [HEALTH_TITLE, *[None] * 9],
        ["区（街道）", None, "普陀区长征镇", None, "联系人姓名", None, "王敏", None, None, None],
        ["联系人邮箱", None, "wangmin@example.com", None, "联系人手机", None, "13912345678",
         None, None, None],
        HEALTH_HEADER,
        [1, "新建", "中环置业园区", 45, 1200, "中环置业园区健康服务点", "中江路879弄1号",
         "张医生", "13812345678", "每周三中午12:00-13:00 健康咨询、血压测量"],
        [2, "升级", "长征工业园", 30, 800, "长征工业园健康服务点", "金沙江路1759号", "李医生",
         "1391234567", "周一至周五 9:00-11:00 配药、中医保健"],
        [3, "新建", "真如商圈", 12, 300, None, "铜川路68号", "赵医生", "13700001111",
         "每周二下午 健康咨询"],
        [4, "升级", "曹杨园区", "１２０", "２５００", "曹杨园区健康服务点", "曹杨路1040弄",
         "钱医生", "021-62345678", "工作日 12:00-13:00 健康评估、健康讲座"],
        [5, "新建", "桃浦智创城", 60, 3000, "桃浦智创城健康服务点", "祁连山南路2891弄",
         "孙医生", "13600002222、13600003333", "每月第一个周二下午 健康讲座"],
        [None] * 10,
        ["注：请于 2023 年 2 月 6 日下午 4: 00 前将电子版发至邮箱 fredxyf@163.com", *[None] * 9],
    ]
    merges = ["A1:J1", "A2:B2", "C2:D2", "E2:F2", "G2:J2", "A3:B3", "C3:D3", "E3:F3", "G3:J3",
              "A11:J11"]
    return Grid(rows, merges, "申报表")


REST_HEADER_241 = ["序号", "工间休息室名称", "地址", "联系人", "手机号码", "面积（m²）",
                   "设施及服务", "计划完成时间"]
REST_HEADER_242 = ["序号", "工间休息室名称", "地址", "联系人", "手机号码",
                   "面积 (m <sup>2</sup> )", "设施及服务", "计划完成时间"]


def rest_room_form(model_room: bool = False) -> Grid:
    """附件2-4-1 (or, with ``model_room``, 附件2-4-2 样板间) with three rows and template rows.

    Excel rows: 1 attachment label, 2 title, 3-4 contact block, 5 section caption,
    6 header, 7-9 data, 10-12 empty template rows (序号 only), 13 备注 row, 14 footer.
    """
    title = ("“职工工间休息室”样板间申报汇总表" if model_room
             else "建设改善“职工工间休息室”申报汇总表")
    header = REST_HEADER_242 if model_room else REST_HEADER_241
    rows: list[list[Any]] = [
        ["附件 2-4-2" if model_room else "附件 2-4-1", *[None] * 7],
        [title, *[None] * 7],
        ["单位名称", None, "上海市普陀区中心医院", None, "联系人姓名", None, "陈红", None],
        ["联系人邮箱", None, "chenhong@example.com", None, "联系人电话", None, "021-62572723", None],
        ["职工工间休息室明细（可分页）", *[None] * 7],
        header,
        [1, "普陀区中心医院护士休息室", "上海市普陀区兰溪路164号", "陈红", "13900001111",
         "约20㎡", "饮水、微波炉、冰箱、空调、躺椅", "2023年12月底"],
        [2, "普陀区中心医院急诊休息室", "上海市普陀区兰溪路164号2号楼", "周强", "13900002222",
         30, "热水，沙发，手机充电", date(2023, 10, 1)],
        [3, "公交五分公司驾驶员休息室", "普陀区真北路2000号", "吴刚", "021-52826666转801",
         "40平方米", "饮水、空调、微波炉", "2023.09"],
        [4, None, None, None, None, None, None, None],
        [5, None, None, None, None, None, None, None],
        [6, None, None, None, None, None, None, None],
        ["备注 (其他需说明事项)", *[None] * 7],
        ["备注：表格电子版发至邮箱：fredxyf@163.com；联系人：夏与非，电话：65862324", *[None] * 7],
    ]
    merges = ["A1:H1", "A2:H2", "A3:B3", "C3:D3", "E3:F3", "G3:H3", "A4:B4", "C4:D4", "E4:F4",
              "G4:H4", "A5:H5", "A13:H13", "A14:H14"]
    return Grid(rows, merges, "休息室")


def training_site_form() -> Grid:
    """附件2-10-2, the first 11 metro training sites; districts merged over their sites.

    Excel rows: 1 title, 2 header, 3-13 data. B3:B5 (黄浦区), B6:B7 (静安区), B8:B9
    (徐汇区), B10:B11 (普陀区) and B12:B13 (闵行区) are merged.
    """
    rows: list[list[Any]] = [
        ["“千企共促安全文明出行”轨交现场培训点", None, None, None],
        ["序号", "所辖区", "培训地点", "详细地址"],
        [1, "黄浦区", "1/2/8 号线人民广场站", "1/2/8 号线人民广场站集中监控室 (靠近 1 号线车控室)"],
        [2, None, "14 号线豫园站", "14 号线豫园站 6 号口"],
        [3, None, "8 号线陆家浜站", "8 号线陆家浜站 7 号口"],
        [4, "静安区", "3 号线上海火车站站党群服务中心", "3 号线上海火车站站近 7 号口"],
        [5, None, "1/12/13 号线汉中路站", "1/12/13 号线汉中路站 8、9 号口"],
        [6, "徐汇区", "梅陇基地", "徐汇区老沪闵路 1 号"],
        [7, None, "蒲汇塘基地", "徐汇区桂林路 909 号"],
        [8, "普陀区", "11 号线曹杨路站乘务实训室", "11 号线曹杨路站 B3 层"],
        [9, None, "7 号线长寿路站多功能室", "7 号线长寿路站 3 号口"],
        [10, "闵行区", "地铁博物馆", "闵行区虹桥镇吴中路 1799-7 号"],
        [11, None, "2/10/17 号线虹桥火车站站", "2/10/17 号线虹桥火车站站车控室 (靠近 B 区出站口)"],
    ]
    merges = ["A1:D1", "B3:B5", "B6:B7", "B8:B9", "B10:B11", "B12:B13"]
    return Grid(rows, merges, "培训点")


SERVICE_CENTRES = [
    (1, "浦东新区总工会职工服务中心 (办事点)", "68472222-88104", "合欢路2号(二楼85、86号总工会窗口)"),
    (2, "徐汇区总工会职工服务中心", "54182060", "漕东支路110号"),
    (3, "长宁区总工会职工服务中心", "62106198", "愚园路1250号2楼"),
    (4, "普陀区总工会职工服务中心", "32250855", "同普路602号3号楼三楼"),
    (5, "虹口区总工会职工服务中心", "25658877", "飞虹路528号"),
    (6, "杨浦区总工会职工服务中心", "65846612", "靖宇东路118号"),
    (7, "黄浦区总工会职工服务中心", "63773621、 53062331", "重庆南路229弄5号"),
    (8, "静安区总工会职工服务中心", "62673565", "昌平路888号"),
    (9, "宝山区总工会职工服务中心", "36071834", "牡丹江路215号"),
    (10, "闵行区总工会职工服务中心", "33362765(在职) 33362769(退休)", "莘东路505号11楼 1107室"),
    (11, "嘉定区总工会服务处", "69067255", "合作路1505一楼大厅"),
    (12, "奉贤区总工会服务处", "37185525", "南桥镇南桥路188号8楼"),
    (13, "松江区总工会服务处", "57819333", "乐都西路867号4号楼"),
    (14, "金山区总工会服务处", "57951843", "杭州湾大道601号"),
    (15, "青浦区总工会服务处", "59732688", "青浦区车站路35号"),
    (16, "崇明区总工会服务处", "69693900", "城桥镇翠竹路1501号"),
]


def service_centre_list() -> Grid:
    """The plan's table of the 16 district service centres (附表), exactly as published."""
    rows: list[list[Any]] = [
        ["附表：各区工会职工服务中心信息", None, None, None],
        ["序号", "职工服务中心", "电话", "地址"],
        *[list(row) for row in SERVICE_CENTRES],
    ]
    return Grid(rows, ["A1:D1"], "服务中心")


def grid_from_csv(path: Path) -> Grid:
    """A grid from a UTF-8 CSV file (the Xuhui list)."""
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return Grid([list(row) for row in csv.reader(stream)], [], path.stem)


# ------------------------------------------------------------------ writers


def to_xlsx(grid: Grid, *, before: list[tuple[Grid, str]] = (), after: list[tuple[Grid, str]] = ()) -> bytes:
    """xlsx bytes with merged ranges; ``before``/``after`` add sheets (``state``: visible/hidden)."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for sheet_grid, state in [*before, (grid, "visible"), *after]:
        sheet = workbook.create_sheet(sheet_grid.sheet)
        for row in sheet_grid.rows:
            sheet.append(row)
        for merge in sheet_grid.merges:
            sheet.merge_cells(merge)
        sheet.sheet_state = state
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def to_ods(grid: Grid) -> bytes:
    """ods bytes written with odfpy; merged ranges become column/row spans."""
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import CoveredTableCell, Table, TableCell, TableRow
    from odf.text import P

    spans: dict[tuple[int, int], tuple[int, int]] = {}
    covered: set[tuple[int, int]] = set()
    for merge in grid.merges:
        min_col, min_row, max_col, max_row = range_boundaries(merge)
        spans[(min_row - 1, min_col - 1)] = (max_row - min_row + 1, max_col - min_col + 1)
        covered |= {(r - 1, c - 1) for r in range(min_row, max_row + 1)
                    for c in range(min_col, max_col + 1)} - {(min_row - 1, min_col - 1)}
    document = OpenDocumentSpreadsheet()
    table = Table(name=grid.sheet)
    width = max(len(row) for row in grid.rows)
    for r, row in enumerate(grid.rows):
        table_row = TableRow()
        for c in range(width):
            value = row[c] if c < len(row) else None
            if (r, c) in covered:
                table_row.addElement(CoveredTableCell())
                continue
            attributes: dict[str, Any] = {}
            if (r, c) in spans:
                attributes["numberrowsspanned"] = spans[(r, c)][0]
                attributes["numbercolumnsspanned"] = spans[(r, c)][1]
            if value is None:
                cell = TableCell(**attributes)
            elif isinstance(value, int | float):
                cell = TableCell(valuetype="float", value=value, **attributes)
                cell.addElement(P(text=str(value)))
            elif isinstance(value, date):
                cell = TableCell(valuetype="date", datevalue=value.isoformat(), **attributes)
                cell.addElement(P(text=value.isoformat()))
            else:
                cell = TableCell(valuetype="string", **attributes)
                for line in str(value).split("\n"):
                    cell.addElement(P(text=line))
            table_row.addElement(cell)
        table.addElement(table_row)
    document.spreadsheet.addElement(table)
    buffer = io.BytesIO()
    document.write(buffer)
    return buffer.getvalue()


def to_csv(grid: Grid, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    """CSV bytes (merges lost, as when Excel saves CSV); dates as ISO text."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    for row in grid.rows:
        writer.writerow(["" if value is None else value.isoformat() if isinstance(value, date)
                         else value for value in row])
    return buffer.getvalue().encode(encoding)
