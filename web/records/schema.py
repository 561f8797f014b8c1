"""The shape of application and expert records (DESIGN §10) as data: keys, Chinese labels, kinds and limits.

One tree describes a record once; the validator, the Excel/CSV flattener and the import templates all read it,
so a key added here is validated, imported, exported and offered in the template without further code.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

# Kinds of leaf values. ``text`` strings, ``date`` ISO dates, ``count`` non-negative integers, ``amount``
# non-negative money in 万元, ``signed`` money that may be negative (profit), ``pct`` 0–100, ``enum`` one code
# of ``choices``, ``uscc`` a GB 32100-2015 code, ``field`` a taxonomy field code, ``pool`` an expert pool,
# ``bool`` yes/no, ``year`` a four-digit year.
LEAF_KINDS = ("text", "date", "count", "amount", "signed", "pct", "enum", "uscc", "field", "pool", "bool", "year")


@dataclass(frozen=True)
class Leaf:
    """One value: ``kind`` from LEAF_KINDS; ``choices`` maps enum codes to their Chinese labels."""

    key: str
    label: str
    kind: str = "text"
    required: bool = False
    choices: MappingProxyType | None = None
    max_length: int | None = None
    kinds: tuple[str, ...] = ()  # member kinds the key belongs to; empty = all
    default: object = None  # the value when the key is absent or blank


@dataclass(frozen=True)
class Tags:
    """A list of scalar values (enum codes, field codes or refs), written as one comma-separated cell."""

    key: str
    label: str
    kind: str = "enum"
    choices: MappingProxyType | None = None
    max_items: int | None = None
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    """A nested object (e.g. the bearer's legal representative); flattened into dotted columns."""

    key: str
    label: str
    children: tuple
    required: bool = False
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    """A list of objects (e.g. member units); its own sheet in a workbook, JSON in a CSV cell."""

    key: str
    label: str
    children: tuple
    max_items: int | None = None
    kinds: tuple[str, ...] = ()


def choices(**labels: str) -> MappingProxyType:
    """Enum codes mapped to their Chinese labels, read-only."""
    return MappingProxyType(labels)


ECONOMIC_TYPES = choices(
    state_owned="国有企业", state_controlled="国有控股企业", foreign="外资企业", joint_venture="合资企业",
    private="私营企业", other="其他",
)
MEMBER_ROLES = choices(initiating="发起单位", participating="参加单位")
MEMBER_KINDS = choices(enterprise="企业", institute="高校/科研院所")
RESULT_TYPES = choices(
    patent="专利", standard="技术标准", technology="新技术", product="新产品", process="新工艺", device="新装置",
    other="其他",
)
STANDARD_LEVELS = choices(
    international="国际标准", national="国家标准", industry="行业标准", alliance="联盟标准", enterprise="企业标准",
)
RD_INSTITUTIONS = choices(
    enterprise_tech_center="市级以上企业技术中心", engineering_research_center="市级以上工程研究中心",
    engineering_tech_research_center="市级以上工程技术研究中心", key_laboratory="市级以上重点实验室", other="其他",
)
ATTACHMENT_KINDS = choices(
    business_licence="营业执照", audited_financials="财务审计报告", cooperation_agreement="合作协议",
    bylaws="章程", qualification="资质证明", other="其他",
)
POOLS = choices(economics="经济", technology="技术", industry="产业", management="管理", law="法律")
GOVERNANCE_ROLES = choices(
    director="董事", supervisor="监事", legal_rep="法定代表人", shareholder="股东", controller="实际控制人",
)
DECLARATION_KINDS = choices(
    kinship="亲属关系", advisor="师生关系", collaboration="合作关系", dispute="法律纠纷", investment="投资关系",
    drafted="参与申报材料编写",
)

# Extra spellings people type, beside each code's own label.
ENUM_ALIASES = MappingProxyType({
    "高校": "institute", "科研院所": "institute", "高校科研院所": "institute", "院所": "institute",
    "参与单位": "participating", "发起": "initiating", "参加": "participating",
    "企业技术中心": "enterprise_tech_center", "工程研究中心": "engineering_research_center",
    "工程技术研究中心": "engineering_tech_research_center", "重点实验室": "key_laboratory",
    "亲属": "kinship", "师生": "advisor", "合作": "collaboration", "纠纷": "dispute", "投资": "investment",
    "审计报告": "audited_financials", "财务审计": "audited_financials", "合作协议书": "cooperation_agreement",
    "规章制度": "bylaws", "资质": "qualification", "法人代表": "legal_rep",
})

CONSTRUCTION_CONTENT_LIMIT = 500
EXCLUDED_EXPERTS_LIMIT = 3


def person(key: str, label: str, *leaves: Leaf, kinds: tuple[str, ...] = ()) -> Group:
    """A contact person: name, the given extra leaves."""
    return Group(key, label, (Leaf("name", "姓名"), *leaves), kinds=kinds)


LEGAL_REP = person(
    "legal_rep", "法人代表", Leaf("phone", "联系电话"), Leaf("email", "Email"), Leaf("id_type", "证件类型"),
    Leaf("id_number", "证件号码"),
)
CONTACT = person("contact", "联系人", Leaf("post", "职务"), Leaf("mobile", "手机"), Leaf("email", "Email"))


def lead(key: str, label: str) -> Group:
    """One of the application's three leads (initiator, R&D team, day-to-day contact)."""
    return person(key, label, Leaf("mobile", "移动电话"), Leaf("post", "单位职务"), Leaf("email", "电子邮箱"))


def registration(kinds: tuple[str, ...] = ()) -> tuple:
    """The registration block shared by the bearer and the enterprise table."""
    return (
        Leaf("registered_on", "注册成立时间", "date", kinds=kinds),
        Leaf("registered_capital", "注册资金(万元)", "amount", kinds=kinds),
        Leaf("foreign_share_pct", "外资比例(%)", "pct", kinds=kinds),
        Leaf("registered_address", "注册地址", kinds=kinds),
        Leaf("registered_postcode", "注册地址邮编", kinds=kinds),
        Leaf("contact_address", "联系地址", kinds=kinds),
        Leaf("contact_postcode", "联系地址邮编", kinds=kinds),
        Group(LEGAL_REP.key, LEGAL_REP.label, LEGAL_REP.children, kinds=kinds),
        Group(CONTACT.key, CONTACT.label, CONTACT.children, kinds=kinds),
        Leaf("economic_type", "经济类型", "enum", choices=ECONOMIC_TYPES, kinds=kinds),
        Leaf("economic_type_other", "经济类型(其他)", kinds=kinds),
    )


SHAREHOLDER = (Leaf("name", "股东名称", required=True), Leaf("share_pct", "股权比例(%)", "pct", required=True))

ENTERPRISE, INSTITUTE = ("enterprise",), ("institute",)

MEMBER = (
    Leaf("role", "单位类别", "enum", required=True, choices=MEMBER_ROLES),
    Leaf("kind", "单位性质", "enum", required=True, choices=MEMBER_KINDS),
    Leaf("name", "单位名称", required=True),
    Leaf("uscc", "统一社会信用代码", "uscc"),
    Leaf("parent", "上级单位"),
    *registration(ENTERPRISE),
    Leaf("employees", "员工总人数", "count", kinds=ENTERPRISE),
    Leaf("rd_staff", "研发人员人数", "count", kinds=ENTERPRISE),
    Leaf("total_assets", "资产总额(万元)", "amount", kinds=ENTERPRISE),
    Leaf("fixed_assets", "固定资产(万元)", "amount", kinds=ENTERPRISE),
    Leaf("debt_ratio_pct", "资产负债率(%)", "pct", kinds=ENTERPRISE),
    Leaf("after_tax_profit", "税后利润(万元)", "signed", kinds=ENTERPRISE),
    Table("finances", "近三年经营数据", (
        Leaf("year", "年度", "year", required=True),
        Leaf("sales", "销售收入(万元)", "amount"),
        Leaf("rd_investment", "研发投入(万元)", "amount"),
    ), max_items=3, kinds=ENTERPRISE),
    Tags("rd_institutions", "研发机构认定情况", choices=RD_INSTITUTIONS, kinds=ENTERPRISE),
    Leaf("rd_institutions_other", "研发机构(其他)", kinds=ENTERPRISE),
    Group("ip", "知识产权情况", (
        Leaf("invention_applied", "发明专利已申请", "count"),
        Leaf("invention_granted", "发明专利已授权", "count"),
        Leaf("utility_applied", "实用新型已申请", "count"),
        Leaf("utility_granted", "实用新型已授权", "count"),
        Leaf("software_copyrights", "软件著作权", "count"),
        Leaf("ic_layouts", "集成电路布图设计", "count"),
    ), kinds=ENTERPRISE),
    Table("top_shareholders", "主要股东", SHAREHOLDER, max_items=3, kinds=ENTERPRISE),
    Leaf("main_business", "主营业务", kinds=ENTERPRISE),
    Leaf("market_share_pct", "市场占有率(%)", "pct", kinds=ENTERPRISE),
    person("team_lead", "研发团队负责人", Leaf("department", "所在院系/部门"), Leaf("title", "职称/职务"),
           Leaf("phone", "联系电话"), Leaf("email", "邮箱"), kinds=INSTITUTE),
    person("team_contact", "团队联系人", Leaf("fax", "传真"), Leaf("phone", "联系电话"), Leaf("email", "邮箱"),
           kinds=INSTITUTE),
    Leaf("team_description", "团队主要情况介绍", kinds=INSTITUTE),
    Leaf("lead_bio", "团队负责人介绍", kinds=INSTITUTE),
    Table("team_members", "团队主要成员", (
        Leaf("name", "姓名", required=True), Leaf("title", "职称"), Leaf("research_direction", "研究方向"),
        Leaf("phone", "联系电话"),
    ), kinds=INSTITUTE),
    Leaf("current_projects", "目前承担的主要项目", kinds=INSTITUTE),
    Leaf("main_results", "主要研究成果", kinds=INSTITUTE),
)

PLAN = (
    Leaf("necessity", "一、创建的必要性"),
    Leaf("goals", "二、中长期目标及任务"),
    Leaf("technical_route", "3.1 技术路线及其先进性和可行性"),
    Leaf("ip_and_standards", "3.2 知识产权和技术标准"),
    Leaf("market", "3.3 市场情况及商业化应用"),
    Leaf("foundation", "4.1 现有基础条件"),
    Leaf("operations", "4.2 近两年经营状况"),
    Leaf("staff", "4.3 主要研究和管理人员"),
    Leaf("leaders", "4.4 中心负责人及主要骨干"),
    Leaf("organization", "五、组织方式及管理机制"),
    Leaf("investment", "六、研发投入方案"),
    Leaf("risks", "七、风险分析及对策"),
)

APPLICATION = (
    Leaf("ref", "申报编号", required=True),
    Leaf("center_name", "中心名称", required=True),
    Leaf("field", "方向领域", "field", required=True),
    Leaf("submitted_on", "申报日期", "date"),
    Group("bearer", "承担单位", (
        Leaf("name", "单位名称", required=True),
        Leaf("uscc", "统一社会信用代码", "uscc", required=True),
        *registration(),
        Table("shareholders", "股权结构", SHAREHOLDER),
    ), required=True),
    Table("members", "成员单位", MEMBER),
    Group("leads", "负责人", (
        lead("initiator", "中心发起单位负责人"),
        lead("rd_team", "中心研发团队负责人"),
        lead("daily_contact", "中心日常工作联系人"),
    )),
    Tags("expected_results", "预期成果类型", choices=RESULT_TYPES),
    Group("expected_ip", "预期知识产权", (
        Leaf("foreign_invention", "国外发明专利(项)", "count"),
        Leaf("domestic_invention", "国内发明专利(项)", "count"),
        Leaf("other", "其他(项)", "count"),
    )),
    Tags("expected_standards", "预期技术标准制定", choices=STANDARD_LEVELS),
    Leaf("construction_content", "中心主要建设内容", max_length=CONSTRUCTION_CONTENT_LIMIT),
    Leaf("applicant_opinion", "申报单位意见"),
    Leaf("applicant_opinion_on", "申报单位意见日期", "date"),
    Group("plan", "建设方案", PLAN),
    Tags("excluded_experts", "申请回避专家", kind="ref", max_items=EXCLUDED_EXPERTS_LIMIT),
    Table("attachments", "附件", (
        Leaf("kind", "附件类型", "enum", required=True, choices=ATTACHMENT_KINDS),
        Leaf("filename", "文件名", required=True),
        Leaf("sha256", "SHA-256"),
    )),
)

EXPERT = (
    Leaf("ref", "专家编号", required=True),
    Leaf("name", "姓名", required=True),
    Leaf("pool", "专家类别", "pool", required=True),
    Leaf("title", "职称/职务"),
    Group("organization", "工作单位", (
        Leaf("name", "单位名称"), Leaf("uscc", "统一社会信用代码", "uscc"), Leaf("parent", "上级单位"),
    )),
    Tags("fields", "方向领域", kind="field"),
    Leaf("profile", "专业简介"),
    Table("past_affiliations", "曾任职单位", (
        Leaf("name", "单位名称", required=True), Leaf("uscc", "统一社会信用代码", "uscc"),
        Leaf("from", "起始日期", "date"), Leaf("until", "截止日期", "date"),
    )),
    Table("roles", "任职情况", (
        Leaf("organization", "单位名称", required=True), Leaf("uscc", "统一社会信用代码", "uscc"),
        Leaf("role", "职务", "enum", required=True, choices=GOVERNANCE_ROLES), Leaf("until", "截止日期", "date"),
    )),
    Table("declared", "声明关系", (
        Leaf("kind", "关系类型", "enum", required=True, choices=DECLARATION_KINDS),
        Leaf("person", "相关人员"), Leaf("organization", "相关单位"), Leaf("uscc", "统一社会信用代码", "uscc"),
        Leaf("application", "相关申报编号"), Leaf("until", "截止日期", "date"), Leaf("note", "说明"),
    )),
    Leaf("max_load", "评审数量上限", "count"),
    Leaf("email", "Email"),
    Leaf("mobile", "手机"),
    Leaf("available", "可参加评审", "bool", default=True),
)

SCHEMAS = MappingProxyType({"applications": APPLICATION, "experts": EXPERT})
"""The record schema of each importable kind."""

SHEET_NAMES = MappingProxyType({"applications": "申报书", "experts": "专家"})
"""The name of the main sheet of each kind's workbook."""

PERSONAL_KEYS = frozenset({"phone", "email", "mobile", "id_number", "id_type", "fax"})
"""Leaf keys holding personal data, left out of exports unless asked for (DESIGN §3)."""
