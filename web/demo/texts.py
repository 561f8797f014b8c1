"""The demo's Chinese texts: construction content, plan sections and expert profiles, written from templates
filled with each field's own vocabulary (web/demo/vocabulary.py)."""

from __future__ import annotations

import random

from matching.types import FIELDS, SECTORS, sector_of
from web.demo.vocabulary import ECONOMICS_TOPICS, FIELD_WORDS, LAW_TOPICS, MANAGEMENT_TOPICS, SECTOR_MOTTOS
from web.records.schema import CONSTRUCTION_CONTENT_LIMIT


def pick(rng: random.Random, words: tuple[str, ...], count: int) -> list[str]:
    """``count`` distinct words in random order."""
    return rng.sample(list(words), count)


def construction_content(rng: random.Random, field: str, center: str, bearer: str, members: int) -> str:
    """The 中心主要建设内容 paragraph, at most 500 characters (DESIGN §3)."""
    words = FIELD_WORDS[field]
    t = pick(rng, words.techs, 4)
    p = pick(rng, words.products, 3)
    u = pick(rng, words.users, 2)
    sentences = [
        f"{center}以{bearer}为承担单位，联合{members}家成员单位，围绕{t[0]}、{t[1]}、{t[2]}等{FIELDS[field]}领域"
        f"共性关键技术开展协同攻关。",
        f"重点建设{t[0]}联合研发平台和{t[3]}中试验证平台，突破{p[0]}、{p[1]}的关键工艺与核心部件，"
        f"形成{p[2]}首台（套）或首批次产品。",
        f"建立知识产权池和{words.short}标准体系，三年内申请发明专利{rng.randint(20, 80)}项，"
        f"牵头或参与制定标准{rng.randint(3, 12)}项。",
        f"面向{u[0]}、{u[1]}提供技术委托研发、检验检测、标准验证和人才培训等公共服务，"
        f"孵化企业{rng.randint(3, 15)}家，推动成果转移扩散和首次商业化应用。",
        f"探索“公司+联盟”运行机制，吸引长三角{words.short}产业链上下游企业加入，打造开放协同的创新生态。",
    ]
    text = ""
    for sentence in sentences:
        if len(text) + len(sentence) > CONSTRUCTION_CONTENT_LIMIT:
            break
        text += sentence
    return text


def plan_sections(rng: random.Random, field: str, center: str, members: list[str]) -> dict[str, str]:
    """The twelve sections of the construction plan (建设方案 outline)."""
    words = FIELD_WORDS[field]
    sector = sector_of(field)
    t = pick(rng, words.techs, 6)
    p = pick(rng, words.products, 4)
    u = pick(rng, words.users, 3)
    name = FIELDS[field]
    lead = members[0] if members else "发起单位"
    return {
        "necessity": f"{SECTOR_MOTTOS[sector]}。{name}领域的{t[0]}、{t[1]}等核心技术长期依赖进口，"
                     f"{u[0]}和{u[1]}对{p[0]}的国产化需求迫切。建设{center}，是突破{name}共性关键技术供给瓶颈、"
                     f"提升上海{SECTORS[sector]}产业竞争力的迫切需要。",
        "goals": f"近期（三年）建成{t[0]}和{t[2]}两个公共研发平台，实现{p[0]}、{p[1]}工程化验证；"
                 f"中长期（五至十年）形成{name}领域国内领先、国际先进的技术供给能力，争创国家级制造业创新中心。",
        "technical_route": f"采用“基础研究—共性技术—工程化—产业化”的技术路线：以{t[1]}为牵引，"
                           f"集成{t[3]}与{t[4]}，建立{p[2]}的设计、制造、测试全流程能力。关键指标对标国际先进水平，"
                           f"成员单位已在{t[5]}方向完成原理验证，技术可行。",
        "ip_and_standards": f"围绕{t[0]}、{t[3]}开展专利布局，建立知识产权池和分享机制；"
                            f"牵头制定{p[1]}相关团体标准和行业标准，参与国际标准工作组。",
        "market": f"预期成果主要应用于{u[0]}、{u[1]}、{u[2]}。国内{p[0]}市场规模逐年增长，进口替代空间大；"
                  f"预计第三年实现技术服务和产品收入{rng.randint(5, 40)}亿元。",
        "foundation": f"{lead}在{t[1]}方向长期积累，建有市级以上研发机构；成员单位拥有{t[4]}实验线和"
                      f"{p[3]}测试平台，已形成产学研用联盟。",
        "operations": f"近两年发起单位营业收入稳定增长，研发投入强度保持在{rng.randint(5, 15)}%以上；"
                      f"参与单位承担国家和上海市{name}相关项目{rng.randint(5, 30)}项。",
        "staff": f"核心团队{rng.randint(40, 200)}人，其中高级职称{rng.randint(20, 80)}人，"
                 f"覆盖{t[0]}、{t[2]}、{t[5]}等方向。",
        "leaders": f"中心负责人长期从事{t[1]}研究与产业化工作，主持国家重点研发计划项目，"
                   f"获省部级科技奖励{rng.randint(1, 5)}项。",
        "organization": "设立股东会、董事会和技术专家委员会，实行总经理负责制；项目实行合同制管理，"
                        "资金专款专用，研发人员按项目组分工协作。",
        "investment": f"建设期三年总投入{rng.randint(3, 20)}亿元，其中成员单位出资{rng.randint(40, 70)}%，"
                      f"用于{t[0]}平台建设、{p[0]}研发和人才引进。",
        "risks": f"技术风险：{t[3]}攻关难度大，采取多路线并行；市场风险：{u[0]}导入周期长，"
                 "以示范应用先行；投融资风险：引入产业基金，分期投入。",
    }


def technical_profile(rng: random.Random, fields: list[str], organization: str, title: str) -> str:
    """The profile of a technology or industry expert, from the vocabulary of the expert's fields."""
    main = FIELD_WORDS[fields[0]]
    techs = [tech for field in fields for tech in pick(rng, FIELD_WORDS[field].techs, 2)]
    return (
        f"{organization}{title}，长期从事{'、'.join(techs)}等方向的研究与工程应用。"
        f"主持或参与国家重点研发计划、上海市科技创新行动计划项目{rng.randint(2, 15)}项，"
        f"在{rng.choice(main.products)}研制和{rng.choice(main.techs)}关键技术攻关方面取得系列成果，"
        f"发表论文{rng.randint(10, 120)}篇，获授权发明专利{rng.randint(3, 60)}项。"
        f"熟悉{rng.choice(main.users)}等用户的应用需求。"
    )


def general_profile(rng: random.Random, pool: str, fields: list[str], organization: str, title: str) -> str:
    """The profile of an economics, management or law expert: topics plus sector experience."""
    topics = {"economics": ECONOMICS_TOPICS, "management": MANAGEMENT_TOPICS, "law": LAW_TOPICS}[pool]
    sector = sector_of(fields[0])
    shorts = "、".join(FIELD_WORDS[field].short for field in fields)
    return (
        f"{organization}{title}，主要研究{'、'.join(pick(rng, topics, 2))}。"
        f"长期参与{SECTORS[sector]}领域（{shorts}）项目的评审与咨询，"
        f"熟悉{rng.choice(FIELD_WORDS[fields[0]].users)}的经营模式，参与评审项目{rng.randint(10, 80)}项。"
    )
