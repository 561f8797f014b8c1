"""Made-up but plausible Chinese names, codes and contact details for the demo, from word lists.

Company names are composed (上海 + 字号 + 行业词 + 有限公司) and are not meant to name any real company; the
universities and institutes are fictitious too. Codes carry correct check characters (GB 32100-2015 for the
USCC, GB 11714 for its organization code, GB 11643 for resident ID numbers).
"""

from __future__ import annotations

import random
from datetime import date

from matching.uscc import ALPHABET, check_character

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红鹏辉建国文斌宇浩凯峰晨欣怡雪琳佳颖志宏海波俊杰立新晓东永庆振华德宁嘉慧思远子涵一鸣天宇诗雨博文梓萱婉清承泽"
BRANDS = (
    "申科", "浦芯", "沪航", "临港", "东滩", "望舒", "启明", "致远", "恒拓", "睿智", "弘毅", "嘉禾", "泓源", "锦程",
    "天衡", "凌云", "星河", "朗润", "博远", "衡川", "宏途", "鼎新", "曜华", "澄明", "远瞻", "景泰", "融创", "领越",
    "昊天", "晟华", "瑞丰", "和光", "新澜", "青禾", "长风", "卓越", "华擎", "金桥", "泰和", "逸航", "赛博", "聚芯",
    "微纳", "光启", "九章", "申瀚", "沪盛", "同创", "共济", "润泽", "开元", "敏行", "知行", "崇实", "求是", "明德",
)
COMPANY_SUFFIXES = ("有限公司", "股份有限公司", "科技有限公司", "技术有限公司")
UNIVERSITIES = (
    "申江理工大学", "浦江科技大学", "沪滨大学", "东海工业大学", "明珠医科大学", "淞沪交通大学", "黄浦江大学",
    "申城师范大学",
)
INSTITUTE_TEMPLATES = ("上海{brand}{short}研究院", "上海市{short}技术研究所", "上海{brand}先进技术研究院")
LAW_FIRMS = ("上海{brand}律师事务所", "上海市{brand}律师事务所")
ACCOUNTING_FIRMS = ("上海{brand}会计师事务所（特殊普通合伙）", "上海{brand}资产评估有限公司")
CONSULTING_FIRMS = ("上海{brand}管理咨询有限公司", "上海{brand}投资管理有限公司", "上海{brand}创业投资有限公司")
SHANGHAI_DISTRICTS = (
    ("310101", "黄浦区", "中山南路"), ("310104", "徐汇区", "漕宝路"), ("310105", "长宁区", "金钟路"),
    ("310106", "静安区", "共和新路"), ("310107", "普陀区", "真南路"), ("310110", "杨浦区", "国权路"),
    ("310112", "闵行区", "紫星路"), ("310113", "宝山区", "沪太路"), ("310114", "嘉定区", "叶城路"),
    ("310115", "浦东新区", "张江路"), ("310115", "浦东新区", "临港大道"), ("310117", "松江区", "新飞路"),
    ("310118", "青浦区", "华浦路"), ("310120", "奉贤区", "金海公路"),
)
SHANGHAI_POSTCODES = ("200000", "200030", "200120", "201203", "201306", "201620", "201800", "200433", "201100")
ELSEWHERE = (
    ("320505", "江苏省苏州市", "苏州高新区科灵路", "215163"), ("320506", "江苏省苏州市", "吴中区东吴北路", "215128"),
    ("110108", "北京市", "海淀区中关村大街", "100080"), ("330106", "浙江省杭州市", "西湖区文三路", "310013"),
)
ORG_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECKS = "10X98765432"


def organization_code(rng: random.Random) -> str:
    """A 9-character organization code with its GB 11714 check character."""
    body = "".join(rng.choice("0123456789") if position else rng.choice("MA") for position in range(8))
    total = sum((int(char) if char.isdigit() else ord(char) - 55) * weight
                for char, weight in zip(body, ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def uscc(rng: random.Random, prefix: str, division_code: str) -> str:
    """A valid USCC: registration authority and kind (``prefix``, e.g. '91'), division, organization code."""
    body = prefix + division_code + organization_code(rng)
    assert all(char in ALPHABET for char in body)
    return body + check_character(body)


def person_name(rng: random.Random) -> str:
    """A two- or three-character Chinese name."""
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def id_number(rng: random.Random, division_code: str = "310104") -> str:
    """A resident ID number (GB 11643) with a plausible birth date and its check character."""
    born = date(rng.randint(1960, 1990), rng.randint(1, 12), rng.randint(1, 28))
    body = f"{division_code}{born:%Y%m%d}{rng.randint(100, 999)}"
    return body + ID_CHECKS[sum(int(char) * weight for char, weight in zip(body, ID_WEIGHTS, strict=True)) % 11]


def mobile(rng: random.Random) -> str:
    """A mainland mobile number."""
    return rng.choice(("135", "136", "138", "139", "158", "186", "189")) + f"{rng.randint(0, 99_999_999):08d}"


def landline(rng: random.Random) -> str:
    """A Shanghai landline number."""
    return f"021-{rng.randint(20_000_000, 69_999_999)}"


def email(local: str, domain: str) -> str:
    """An address on a reserved example domain, so that no real mailbox is named."""
    return f"{local}@{domain}.example.cn"


def shanghai_address(rng: random.Random) -> tuple[str, str, str]:
    """(division code, address, postcode) somewhere in Shanghai."""
    code, district, road = rng.choice(SHANGHAI_DISTRICTS)
    return code, f"上海市{district}{road}{rng.randint(1, 2999)}号", rng.choice(SHANGHAI_POSTCODES)
