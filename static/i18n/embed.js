// Strings of the embeddable map (embed.html, embed.js). See ../i18n.js.

export default {
  zh: {
    "embed.fullMap": "打开完整地图",
    "embed.demo": "示例数据：{layers}",
    "embed.listSep": "、",
    "embed.unknownLayer": "未知的图层：{layer}",
    "embed.badPoint": "坐标须为经度和纬度数值",
    "embed.notConfigured": "请通过 /embed 打开此页面（参数由服务器检查）。",
  },
  en: {
    "embed.fullMap": "Open the full map",
    "embed.demo": "Demonstration data: {layers}",
    "embed.listSep": ", ",
    "embed.unknownLayer": "Unknown layer: {layer}",
    "embed.badPoint": "A point needs numeric lon and lat",
    "embed.notConfigured": "Open this page through /embed (its parameters are checked by the server).",
  },
};
