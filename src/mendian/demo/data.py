"""Static facts of the demo chain 彩云优选 (Caiyun Select), a grocery chain in Yunnan.

Coordinates are real city and district centres (WGS-84, rounded); store positions add a small jitter.
Prices are believable list prices in yuan (tax-inclusive); VAT follows Chinese rates: 9% for grain,
edible oil, fruit, aquatic products, fresh and sterilised milk; 0% for vegetables, fresh meat and eggs
in circulation (exempt); 13% for everything else.
"""

from __future__ import annotations

from dataclasses import dataclass

CHAIN_NAME = "彩云优选"
HQ_CODE = "HQ"
TRANSIT_CODE = "TRANSIT"


@dataclass(frozen=True)
class Town:
    name: str  # district or county, e.g. 五华区
    lat: float
    lon: float
    streets: tuple[str, ...]


@dataclass(frozen=True)
class RegionSpec:
    code: str
    name: str
    city: str  # prefecture-level city
    weight: float  # share of the chain's stores
    tourist: bool  # tourist towns: stronger weekends and Golden Weeks
    towns: tuple[Town, ...]
    districts: tuple[tuple[str, str, tuple[int, ...]], ...] = ()  # (code, name, indexes of towns)


REGIONS: tuple[RegionSpec, ...] = (
    RegionSpec("KM", "昆明区域", "昆明市", 0.40, False, (
        Town("五华区", 25.0430, 102.7070, ("青年路", "东风西路", "人民中路", "翠湖南路", "西昌路")),
        Town("盘龙区", 25.0705, 102.7195, ("北京路", "白塔路", "穿金路", "金星路")),
        Town("官渡区", 25.0151, 102.7432, ("春城路", "关上中路", "世纪城路", "民航路")),
        Town("西山区", 25.0383, 102.6646, ("滇池路", "前兴路", "西园路", "金碧路")),
        Town("呈贡区", 24.8893, 102.8216, ("彩云北路", "春融街", "吴家营路")),
        Town("安宁市", 24.9198, 102.4784, ("连然路", "宁湖路", "金方路")),
    ), (("KMN", "昆明北片区", (0, 1)), ("KMS", "昆明南片区", (2, 3, 4, 5)))),
    RegionSpec("QJ", "曲靖区域", "曲靖市", 0.17, False, (
        Town("麒麟区", 25.4900, 103.7961, ("麒麟南路", "南宁北路", "寥廓南路", "子午路")),
        Town("沾益区", 25.6003, 103.8222, ("龙华路", "玉林路")),
        Town("宣威市", 26.2197, 104.1046, ("建设路", "榕城路")),
        Town("陆良县", 25.0300, 103.6667, ("同乐大道", "中枢路")),
    )),
    RegionSpec("DL", "大理区域", "大理白族自治州", 0.14, True, (
        Town("大理市下关", 25.6065, 100.2676, ("人民南路", "建设路", "泰安路", "龙溪路")),
        Town("大理古城", 25.6947, 100.1630, ("复兴路", "人民路", "博爱路")),
        Town("祥云县", 25.4834, 100.5508, ("祥城路", "云南驿路")),
    )),
    RegionSpec("LJ", "丽江区域", "丽江市", 0.10, True, (
        Town("古城区", 26.8721, 100.2299, ("福慧路", "香格里大道", "民主路", "祥和路")),
        Town("玉龙县", 26.8214, 100.2369, ("玉龙路", "雪山路")),
    )),
    RegionSpec("YX", "玉溪区域", "玉溪市", 0.12, False, (
        Town("红塔区", 24.3519, 102.5437, ("珊瑚路", "红塔大道", "东风南路", "聂耳路")),
        Town("澄江市", 24.6739, 102.9085, ("凤麓路", "抚仙路")),
        Town("通海县", 24.1114, 102.7254, ("秀山路", "礼乐路")),
    )),
    RegionSpec("HH", "红河区域", "红河哈尼族彝族自治州", 0.07, False, (
        Town("蒙自市", 23.3962, 103.3649, ("天马路", "银河路", "红竹园路")),
        Town("个旧市", 23.3594, 103.1600, ("金湖路", "五一路")),
        Town("建水县", 23.6347, 102.8268, ("临安路", "朝阳路")),
    )),
)

WAREHOUSES = (
    # code, name, region, town, lat, lon, address
    ("WH01", "昆明配送中心", "KM", "官渡区", 24.9581, 102.8020, "云南省昆明市官渡区大板桥物流园区8号"),
    ("WH02", "大理配送中心", "DL", "大理市下关", 25.5821, 100.3051, "云南省大理白族自治州大理市满江物流园3号"),
)

STORE_FORMATS = (
    # name suffix, area range m², opening, closing, weight
    ("便利店", (60, 150), "07:00", "23:00", 0.35),
    ("社区店", (150, 450), "07:30", "22:00", 0.40),
    ("超市", (450, 1500), "08:30", "22:00", 0.25),
)


@dataclass(frozen=True)
class Leaf:
    """A leaf category and what it sells."""

    code: str
    name: str
    vat: int
    margin: tuple[float, float]  # gross margin range on the tax-exclusive price
    items: tuple[tuple[str, float], ...]  # (item name, base price yuan; per kg when by_weight)
    specs: tuple[tuple[str, float, int], ...] = (("", 1.0, 0),)  # (spec, price factor, volume ml)
    brands: tuple[str, ...] = ()
    pack: int = 12  # base units per purchasing case (grams for goods by weight)
    by_weight: bool = False
    lot_days: int = 0  # shelf life in days when lot-tracked (0 = not lot-tracked)
    popularity: float = 1.0  # relative demand of the category
    season: tuple[float, float] = (0.0, 0.0)  # (amplitude, peak month) of a yearly rhythm
    apparel: bool = False
    min_area: int = 0  # only stores at least this large carry it


TOPS = (
    ("GR", "粮油副食"), ("BV", "酒水饮料"), ("SN", "休闲零食"), ("FR", "生鲜"), ("DY", "乳品冷藏"),
    ("HH", "日用百货"), ("PC", "个护美妆"), ("AP", "服装鞋袜"),
)

LEAVES: tuple[Leaf, ...] = (
    Leaf("GR01", "大米面粉", 9, (0.15, 0.22), (("东北大米", 39.9), ("云南软香米", 35.9), ("高筋面粉", 16.9), ("挂面", 6.5)),
         (("5kg", 1.0, 5000), ("2.5kg", 0.55, 2500)), ("福临门", "金龙鱼", "五常", "彩云优选"), pack=6, popularity=0.8),
    Leaf("GR02", "食用油", 9, (0.15, 0.20), (("大豆油", 69.9), ("花生油", 129.0), ("菜籽油", 79.9), ("玉米油", 75.9)),
         (("5L", 1.0, 5000), ("1.8L", 0.42, 1800)), ("金龙鱼", "鲁花", "福临门"), pack=4, popularity=0.5),
    Leaf("GR03", "调味品", 13, (0.25, 0.35), (("生抽", 12.9), ("老抽", 11.9), ("蚝油", 9.9), ("香醋", 8.5), ("食盐", 3.0),
                                        ("鸡精", 11.5), ("火锅底料", 15.9), ("糊辣椒面", 9.9)),
         (("500ml", 1.0, 500), ("1.3L", 2.1, 1300)), ("海天", "李锦记", "千禾", "云南白药"), pack=12, popularity=0.9),
    Leaf("GR04", "方便速食", 13, (0.20, 0.30), (("红烧牛肉面", 4.5), ("酸辣粉", 7.9), ("过桥米线", 9.9), ("自热火锅", 29.9)),
         (("单包", 1.0, 450), ("五连包", 4.4, 2200)), ("康师傅", "统一", "白家", "今麦郎"), pack=24, popularity=1.4),
    Leaf("BV01", "饮用水", 13, (0.25, 0.40), (("饮用天然水", 2.0), ("纯净水", 1.5), ("苏打水", 4.5)),
         (("550ml", 1.0, 550), ("1.5L", 2.2, 1500), ("4L", 4.0, 4000)), ("农夫山泉", "怡宝", "百岁山"), pack=24,
         popularity=2.5, season=(0.35, 7)),
    Leaf("BV02", "碳酸饮料", 13, (0.25, 0.35), (("可乐", 3.5), ("雪碧", 3.5), ("零度可乐", 3.8), ("气泡水", 5.5)),
         (("330ml", 1.0, 330), ("500ml", 1.15, 500), ("2L", 2.4, 2000)), ("可口可乐", "百事", "元气森林"), pack=24,
         popularity=2.0, season=(0.4, 7)),
    Leaf("BV03", "茶饮料", 13, (0.25, 0.35), (("冰红茶", 3.5), ("绿茶", 3.5), ("凉茶", 4.5), ("普洱茶饮", 5.0)),
         (("500ml", 1.0, 500), ("1L", 1.7, 1000)), ("康师傅", "统一", "王老吉", "东方树叶"), pack=15, popularity=1.6,
         season=(0.35, 7)),
    Leaf("BV04", "啤酒", 13, (0.20, 0.30), (("纯生啤酒", 6.5), ("清爽啤酒", 4.0), ("精酿啤酒", 12.0)),
         (("500ml罐", 1.0, 500), ("330ml罐", 0.7, 330)), ("风花雪月", "大理啤酒", "青岛", "雪花"), pack=12,
         popularity=1.5, season=(0.5, 7)),
    Leaf("BV05", "白酒", 13, (0.25, 0.40), (("浓香型白酒", 128.0), ("清香型白酒", 68.0), ("小酒", 22.0)),
         (("500ml", 1.0, 500),), ("五粮液", "泸州老窖", "汾酒", "玉林泉"), pack=6, popularity=0.25),
    Leaf("SN01", "饼干糕点", 13, (0.28, 0.38), (("夹心饼干", 8.9), ("苏打饼干", 7.5), ("鲜花饼", 25.0), ("蛋黄派", 12.9)),
         (("标准装", 1.0, 300), ("家庭装", 2.2, 800)), ("奥利奥", "嘉华", "好丽友", "潘祥记"), pack=20, popularity=1.2),
    Leaf("SN02", "坚果炒货", 13, (0.30, 0.40), (("每日坚果", 59.9), ("瓜子", 9.9), ("核桃", 29.9), ("开心果", 35.9)),
         (("袋装", 1.0, 500),), ("洽洽", "三只松鼠", "良品铺子"), pack=20, popularity=0.8),
    Leaf("SN03", "糖果巧克力", 13, (0.30, 0.40), (("牛奶巧克力", 15.9), ("奶糖", 12.9), ("口香糖", 9.9)),
         (("袋装", 1.0, 200),), ("德芙", "大白兔", "益达", "士力架"), pack=24, popularity=0.9),
    Leaf("SN04", "膨化食品", 13, (0.30, 0.40), (("薯片", 7.9), ("虾条", 5.5), ("米饼", 9.9)),
         (("70g", 1.0, 600), ("135g", 1.6, 1100)), ("乐事", "旺旺", "上好佳"), pack=20, popularity=1.1),
    Leaf("FR01", "蔬菜", 0, (0.15, 0.25), (("西红柿", 6.98), ("黄瓜", 5.98), ("土豆", 3.98), ("大白菜", 2.98), ("青椒", 7.98),
                                      ("胡萝卜", 3.58), ("西兰花", 9.98), ("茄子", 6.58), ("洋葱", 3.98), ("牛肝菌", 98.0)),
         brands=(), pack=10000, by_weight=True, lot_days=3, popularity=3.0, min_area=150),
    Leaf("FR02", "水果", 9, (0.18, 0.28), (("昭通苹果", 9.98), ("香蕉", 6.98), ("芒果", 12.8), ("褚橙", 15.8),
                                      ("蓝莓", 59.8), ("蒙自石榴", 13.8), ("西瓜", 3.98)),
         brands=(), pack=10000, by_weight=True, lot_days=6, popularity=2.5, season=(0.3, 8), min_area=150),
    Leaf("FR03", "肉禽蛋", 0, (0.15, 0.22), (("猪五花肉", 29.8), ("猪里脊", 32.8), ("排骨", 45.8), ("鸡胸肉", 19.8),
                                       ("牛腩", 79.8), ("土鸡蛋", 16.8)),
         brands=(), pack=10000, by_weight=True, lot_days=3, popularity=2.0, min_area=300),
    Leaf("FR04", "水产", 9, (0.15, 0.22), (("草鱼", 19.8), ("罗非鱼", 15.8), ("基围虾", 69.8)),
         brands=(), pack=5000, by_weight=True, lot_days=2, popularity=0.8, min_area=450),
    Leaf("DY01", "鲜奶", 9, (0.18, 0.25), (("鲜牛奶", 12.9), ("低脂鲜奶", 13.9)),
         (("950ml", 1.0, 950), ("250ml", 0.32, 250)), ("雪兰", "欧亚", "光明"), pack=12, lot_days=7, popularity=1.5),
    Leaf("DY02", "酸奶", 13, (0.20, 0.30), (("原味酸奶", 8.9), ("高原酸奶", 9.9), ("风味发酵乳", 6.5)),
         (("200g", 1.0, 200), ("四连杯", 2.6, 800)), ("雪兰", "欧亚", "伊利", "蒙牛"), pack=12, lot_days=21,
         popularity=1.4),
    Leaf("DY03", "常温奶", 9, (0.18, 0.25), (("纯牛奶", 59.9), ("早餐奶", 49.9)),
         (("250ml×12", 1.0, 3000), ("250ml×24", 1.9, 6000)), ("伊利", "蒙牛", "欧亚"), pack=1, lot_days=180,
         popularity=0.7),
    Leaf("HH01", "纸品", 13, (0.22, 0.32), (("抽纸", 15.9), ("卷纸", 29.9), ("湿巾", 9.9)),
         (("3包装", 1.0, 3000), ("6包装", 1.9, 6000)), ("维达", "心相印", "清风"), pack=10, popularity=1.0),
    Leaf("HH02", "清洁用品", 13, (0.25, 0.35), (("洗衣液", 39.9), ("洗洁精", 12.9), ("消毒液", 19.9), ("洗衣凝珠", 49.9)),
         (("标准装", 1.0, 2000), ("大瓶装", 1.7, 3000)), ("蓝月亮", "立白", "汰渍"), pack=8, popularity=0.7),
    Leaf("HH03", "厨房用品", 13, (0.30, 0.40), (("保鲜膜", 12.9), ("垃圾袋", 9.9), ("一次性筷子", 6.9), ("钢丝球", 5.9)),
         (("", 1.0, 300),), ("妙洁", "美丽雅", "彩云优选"), pack=24, popularity=0.6),
    Leaf("PC01", "洗发沐浴", 13, (0.28, 0.38), (("洗发水", 49.9), ("沐浴露", 39.9), ("护发素", 45.9)),
         (("400ml", 1.0, 400), ("750ml", 1.6, 750)), ("海飞丝", "飘柔", "舒肤佳", "六神"), pack=12, popularity=0.5),
    Leaf("PC02", "口腔护理", 13, (0.28, 0.38), (("牙膏", 19.9), ("牙刷", 12.9), ("漱口水", 25.9)),
         (("", 1.0, 150),), ("云南白药", "高露洁", "佳洁士"), pack=24, popularity=0.6),
    Leaf("PC03", "护肤", 13, (0.35, 0.40), (("面霜", 89.0), ("防晒霜", 79.0), ("护手霜", 19.9)),
         (("", 1.0, 100),), ("自然堂", "百雀羚", "佰草集"), pack=12, popularity=0.3, season=(0.3, 6)),
    Leaf("AP01", "T恤", 13, (0.35, 0.40), (("纯棉圆领T恤", 59.0), ("速干T恤", 79.0)),
         brands=("彩云优选",), pack=10, popularity=0.15, season=(0.5, 6), apparel=True, min_area=450),
    Leaf("AP02", "袜子", 13, (0.35, 0.40), (("棉袜三双装", 25.0), ("船袜五双装", 29.0)),
         brands=("彩云优选",), pack=20, popularity=0.25, apparel=True, min_area=150),
    Leaf("AP03", "拖鞋", 13, (0.35, 0.40), (("家居拖鞋", 19.9), ("凉拖", 29.9)),
         brands=("彩云优选",), pack=20, popularity=0.15, season=(0.5, 7), apparel=True, min_area=450),
)

APPAREL_SIZES = ("S", "M", "L", "XL")
APPAREL_COLOURS = (("BK", "黑色"), ("WH", "白色"), ("BL", "蓝色"))
SHOE_SIZES = ("37", "39", "41", "43")
