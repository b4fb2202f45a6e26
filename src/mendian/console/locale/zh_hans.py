"""The console's zh-Hans wording (source of django.po): ``python locale/zh_hans.py`` fills the .po
after ``mendian makemessages -l zh_Hans``; then ``msgfmt`` compiles the .mo that is committed."""

ZH = {
    "Sales dashboard": "销售看板", "Store dashboard": "门店看板", "Purchasing": "采购看板", "Drill-down": "钻取分析",
    "Pivot": "自助分析", "Locations & stock": "地点与库存", "Orders": "订单", "POS": "收银", "Pickups": "自提核销",
    "Shifts": "班次", "Stock counts": "盘点", "Targets & imports": "目标与导入", "Jobs": "任务",
    "Today": "今日", "Last 7 days": "近7天", "Month to date": "本月至今", "Last month": "上月", "Last 28 days": "近28天",
    "Year to date": "本年至今", "Console": "控制台", "Menu": "菜单", "Sign out": "退出",
    "All categories": "全部品类", "Inventory at cost": "库存成本", "Turnover (per year)": "年周转次数",
    "Days of supply": "周转天数", "Stock-out rate": "缺货率", "Sell-through": "动销率", "Overstock value": "积压库存金额",
    "GMROI": "GMROI 毛利回报率", "Inventory and overstock by category": "各品类库存与积压",
    "Chain": "全连锁", "Drill down": "逐级钻取", "Sales": "销售额", "vs last year": "同比", "vs last month": "环比",
    "Target": "目标", "Achievement": "达成率", "Gross margin": "毛利", "Transactions": "交易笔数", "ATV": "客单价",
    "Members' share": "会员销售占比", "Share": "占比", "Sales by day": "每日销售", "Store": "门店",
    "Sales per m²": "坪效", "Sales per labour hour": "人效", "Conversion": "转化率", "visitors": "客流",
    "To do": "待办", "Stock-outs today": "今日缺货", "None": "无", "Sales by hour today": "今日分时销售",
    "Place": "地点", "Time": "时间", "Quantity": "数量", "Stock of this SKU": "该商品库存", "Sign in": "登录",
    "Username": "用户名", "Password": "密码", "Kind": "类型", "Status": "状态", "Progress": "进度", "Created": "创建时间",
    "Result": "结果", "No jobs.": "暂无任务。", "Previous": "上一页", "Next": "下一页", "Period": "期间", "SKU": "商品",
    "Name": "名称", "Unit price": "单价", "Amount": "金额", "Scan or type a SKU to start a sale.": "扫码或输入商品编码开始收银。",
    "Total": "合计", "Tender": "支付方式", "Amount received (cash)": "实收（现金）", "Reference": "交易参考号",
    "Pay": "收款", "No figures for this selection.": "所选范围暂无数据。", "Rows": "行", "Columns": "列",
    "Measure": "指标", "From": "从", "To": "至", "Channel": "渠道", "All": "全部", "Show": "查询",
    "Counted lines: SKU code or barcode, counted quantity — one per line": "盘点明细：商品编码或条码, 实盘数量（每行一条）",
    "Note": "备注", "Record count": "提交盘点", "Count tasks open": "待盘任务", "Recent counts": "最近盘点",
    "Rebuild dashboard rollups": "重算看板汇总", "Stock ledger": "库存台账", "On hand": "在库", "Reserved": "占用",
    "Lots": "批次", "Lot": "批次", "Expiry": "效期", "Movements": "流水", "Reason": "原因", "Unit cost": "单位成本",
    "Document": "单据", "User": "用户", "No movements.": "暂无流水。", "Search SKU": "搜索商品",
    "Nothing available": "无可用库存", "Search": "搜索", "Available": "可用", "No stock.": "暂无库存。",
    "SKU code": "商品编码", "Stock of a SKU": "查看商品库存", "Code": "编码", "Region": "区域", "Area m²": "面积 m²",
    "Tax": "税额", "Paid": "已付", "Change": "找零", "pickup code": "核销码", "Lines": "明细", "Discount": "优惠",
    "Refunded": "已退", "Tenders": "支付", "Method": "方式", "Not paid.": "未支付。", "Refunds": "退款",
    "All stores": "全部门店", "All statuses": "全部状态", "All channels": "全部渠道", "Filter": "筛选", "Number": "单号",
    "No orders.": "暂无订单。", "Pickup verification": "自提核销", "Order %(number)s handed over.": "订单 %(number)s 已核销交付。",
    "Open": "打开", "Pickup code": "核销码", "Verify": "核销", "Waiting for pickup": "待自提",
    "No open shift: open one before selling.": "当前没有开班：请先开班再收银。", "SKU code or barcode": "商品编码或条码",
    "Add": "加入", "Opening float": "备用金", "Open my shift": "开班", "Cashier": "收银员", "Opened": "开班时间",
    "Float": "备用金", "Expected": "应有现金", "Counted": "实点现金", "Variance": "差异", "Counted cash": "实点现金",
    "Close": "交班", "No shifts.": "暂无班次。", "Month": "月份", "Save targets": "保存目标", "Import a CSV": "导入 CSV",
    "File": "文件", "Import": "导入", "Too many failed sign-ins. Try again in 15 minutes.": "登录失败次数过多，请15分钟后再试。",
    "Wrong username or password.": "用户名或密码错误。", "Margin %": "毛利率", "Sales by region": "各区域销售",
    "Sales by store": "各门店销售", "Day": "日期", "Same day last year": "去年同日", "No store in your scope.": "您的权限范围内没有门店。",
    "Top SKUs": "畅销商品", "Bottom SKUs": "滞销商品", "Pickups waiting": "待自提订单", "Category": "品类",
    "Cost of goods sold": "销售成本", "By category": "按品类", "All years": "全部年份", "By region": "按区域",
    "By district": "按片区", "District": "片区", "By store": "按门店", "By SKU": "按商品", "By hour": "按小时",
    "Hour": "小时", "By day": "按日", "By month": "按月", "By year": "按年", "Year": "年", "Weekday": "星期",
    "Member tier": "会员等级", "Mon": "周一", "Tue": "周二", "Wed": "周三", "Thu": "周四", "Fri": "周五", "Sat": "周六",
    "Sun": "周日", "Imported history": "导入的历史", "Non-member": "非会员", "Unknown": "未知", "Member": "会员",
    "Imported %(rows)s rows (%(created)s new, %(updated)s changed).": "已导入 %(rows)s 行（新增 %(created)s，修改 %(updated)s）。",
    "Saved %(n)s targets.": "已保存 %(n)s 个目标。", "Unknown SKU or barcode.": "未知的商品编码或条码。",
    "Quantity must be a whole number above zero.": "数量必须是大于零的整数。", "The cart is empty.": "购物车为空。",
    "Sale %(number)s: total ¥%(total)s, change ¥%(change)s": "销售单 %(number)s：合计 ¥%(total)s，找零 ¥%(change)s",
    "Shift opened.": "已开班。", "Shift closed; variance ¥%(v)s.": "已交班；差异 ¥%(v)s。",
    "Line %(n)s: write SKU code or barcode, then the counted quantity.": "第 %(n)s 行：请填写商品编码或条码，再填写实盘数量。",
    "Write at least one line.": "请至少填写一行。", "Count %(number)s recorded.": "盘点单 %(number)s 已记录。",
    "Rebuild queued; the worker runs it.": "重算已排队，由后台任务执行。",
    "Demo users: hq, buyer, region.KM, manager.KM001, cashier.KM001 — password demo.":
        "演示账号：hq、buyer、region.KM、manager.KM001、cashier.KM001，密码 demo。",
    "Stock is as of now (on hand × moving-average cost); flows are those of the period. Overstock: stock beyond "
    "90 days of the period's sales rate. Stock-out rate: store × SKU pairs that sold in the period and have "
    "nothing available now.":
        "库存为当前值（在库 × 移动平均成本）；流量为所选期间。积压：超出按本期销售速度90天用量的库存。"
        "缺货率：本期有销售、当前无可用库存的门店×商品组合占比。",
    "Rebuild": "重算",
}


# transfers (issue 5)
ZH.update({
    'Transfer': '调拨单',
    'Transfers': '调拨',
    'Plan': '计划',
    'Distance': '距离',
    'Timeline': '进度',
    'Approved': '已审批',
    'Shipped': '已发货',
    'Received': '已收货',
    'Cancelled': '已取消',
    'Damaged': '破损',
    'Short': '短少',
    'Enter per line the good units received and the damaged ones; what is missing is recorded as short.': '按行填写完好收货数量与破损数量；缺少的部分记为短少。',
    'Receive': '收货',
    'Approve': '审批',
    'Ship': '发货',
    'Cancel transfer': '取消调拨',
    'Shortages': '缺货需求',
    'Transfer plans': '调拨计划',
    'Routes of the day': '当日配送路线',
    'Source': '来源',
    'Units': '件数',
    'No transfers.': '暂无调拨单。',
    'Transfer plan': '调拨计划',
    'Whole chain': '全连锁',
    'Objective': '目标成本',
    'lanes': '条线路',
    'moves': '项调拨',
    'Lane-blind plan': '不计线路成本的方案',
    'Saving': '节省',
    'Need met': '满足需求',
    'units': '件',
    'MIP gap': 'MIP 差距',
    'bound': '下界',
    'not computed': '未计算',
    'Solve time': '求解时间',
    'locations': '个地点',
    'Objective breakdown': '成本构成',
    'This plan': '本方案',
    'Lane-blind': '不计线路成本',
    'Accept the plan: create approved transfers': '采纳方案：生成已审批的调拨单',
    'Transfers created': '已生成的调拨单',
    'Moves': '调拨明细',
    'Packs': '包装数',
    'Nothing to move.': '无需调拨。',
    'Run a plan': '计算调拨方案',
    'Transport cost per unit·km (¥)': '每件·公里运输成本（¥）',
    'Fixed cost per shipment lane (¥)': '每条线路固定成本（¥）',
    'Handling per unit (¥)': '每件装卸成本（¥）',
    'Penalty per unit of need left unmet (¥)': '每件未满足需求的罚金（¥）',
    'Maximum distance (km)': '最大距离（公里）',
    'Excluded locations (codes, comma-separated)': '排除的地点（编码，逗号分隔）',
    'Excluded SKUs (codes, comma-separated)': '排除的商品（编码，逗号分隔）',
    'Time limit (s)': '时间上限（秒）',
    'MIP bound: seconds (0 = none; city-size plans only)': 'MIP 下界：秒数（0 = 不计算；仅限城市规模）',
    'Run the plan': '计算方案',
    'Recent plans': '最近的方案',
    'Transfers shipped': '已发货调拨单',
    'Depot': '车场',
    'Vehicles': '车辆',
    'naive': '逐单直送',
    'trips': '趟',
    'Not routed': '未排线',
    'Map': '地图',
    "Longitude and latitude axes; the depot is the square, stores are dots, each vehicle's route a coloured line.": '横轴经度、纵轴纬度；方块为车场，圆点为门店，每辆车的路线一种颜色。',
    'Vehicle': '车辆',
    'Arrive': '到达',
    'Location': '地点',
    'Action': '作业',
    'Load after': '作业后载量',
    'No transfers shipped on this day.': '当日没有已发货的调拨单。',
    'Depot (warehouse code)': '车场（仓库编码）',
    'Vehicle capacity (cases)': '车辆容量（箱）',
    'Safety stock': '安全库存',
    'Reorder point': '再订货点',
    'Need': '需求',
    'No shortage.': '没有缺货。',
    'Transfers on the way': '在途调拨',
    'Transfer %(n)s approved.': '调拨单 %(n)s 已审批。',
    'Transfer %(n)s shipped.': '调拨单 %(n)s 已发货。',
    'Transfer %(n)s received.': '调拨单 %(n)s 已收货。',
    'Transfer %(n)s cancelled.': '调拨单 %(n)s 已取消。',
    'Quantities must be whole numbers of 0 or more.': '数量必须是不小于 0 的整数。',
    '%(f)s must be a number': '%(f)s 必须是数字',
    '%(f)s must not be negative': '%(f)s 不能为负数',
    'Plan %(id)s computed.': '方案 %(id)s 已计算。',
    'Plan accepted: %(n)s transfers approved.': '方案已采纳：%(n)s 张调拨单已审批。',
    'Vehicle %(n)s': '车辆 %(n)s',
    'Transfers to receive': '待收货调拨',
    'Transfers to send': '待发货调拨',
    'Need = safety stock − available + lost demand of the last week. Safety stock: %(s)s days of sales (at least %(m)s); reorder point: %(l)s more days.': '需求 = 安全库存 − 可用库存 + 近一周流失需求。安全库存：%(s)s 天销量（至少 %(m)s）；再订货点：再加 %(l)s 天。',
})

if __name__ == "__main__":
    import re
    import sys
    from pathlib import Path

    po = Path(__file__).parent / "zh_Hans" / "LC_MESSAGES" / "django.po"
    text = po.read_text()
    entries = text.split("\n\n")
    missing = []

    def unquote(lines: list[str]) -> str:
        return "".join(re.match(r'^(?:msgid |msgstr )?"(.*)"$', ln).group(1) for ln in lines).replace('\\"', '"')

    out = []
    for e in entries:
        lines = e.split("\n")
        if not any(ln.startswith("msgid ") for ln in lines):
            out.append(e)
            continue
        i = next(n for n, ln in enumerate(lines) if ln.startswith("msgid "))
        j = next(n for n, ln in enumerate(lines) if ln.startswith("msgstr "))
        msgid = unquote(lines[i:j])
        if not msgid:
            out.append(e.replace('"Content-Type: text/plain; charset=CHARSET\\n"',
                                 '"Content-Type: text/plain; charset=UTF-8\\n"'))
            continue
        zh = ZH.get(msgid)
        if zh is None:
            missing.append(msgid)
            out.append(e)
            continue
        lines = [ln for ln in lines[:j] if ln != "#, fuzzy"] + ['msgstr "' + zh.replace('"', '\\"') + '"']
        out.append("\n".join(lines))
    po.write_text("\n\n".join(out))
    if missing:
        print("untranslated:", missing, file=sys.stderr)
        sys.exit(1)
