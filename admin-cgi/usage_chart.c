/* conduix-admin: the usage chart as server-rendered SVG geometry. Spend per day is
 * drawn as bars against the left axis, requests per day as a line against the right
 * axis; each bar carries a <title> so hovering shows the exact day's figures without
 * any script. Only numbers computed here reach the template. */
#include "admin.h"

#include <apr_strings.h>
#include <math.h>
#include <string.h>

#define W 1000
#define H 280
#define PAD_L 56
#define PAD_R 52
#define PAD_T 14
#define PAD_B 30
#define TICKS 4

/* The smallest "nice" step (1, 2, 2.5, 5 x 10^k) with at most TICKS steps to max. */
static double nice_step(double max)
{
    if (max <= 0)
        return 1;
    double raw = max / TICKS, mag = pow(10, floor(log10(raw)));
    static const double mult[] = {1, 2, 2.5, 5, 10};
    for (size_t i = 0; i < sizeof mult / sizeof mult[0]; i++)
        if (mult[i] * mag >= raw)
            return mult[i] * mag;
    return 10 * mag;
}

/* Tick labels with as many decimals as the step needs (0.000005 steps need six),
 * so that no two ticks read the same. */
static const char *tick_label(apr_pool_t *p, double v, double step, int money)
{
    if (!money) {
        if (v >= 1e6)
            return apr_psprintf(p, "%.1fM", v / 1e6);
        if (v >= 1e4)
            return apr_psprintf(p, "%.0fK", v / 1e3);
        return apr_psprintf(p, "%.0f", v);
    }
    int decimals = 0;
    double scaled = step;
    while (decimals < 9 && fabs(scaled - floor(scaled + 0.5)) > 1e-9 * (scaled > 1 ? scaled : 1)) {
        scaled *= 10;
        decimals++;
    }
    if (decimals < 2 && v < 1000 && step < 1)
        decimals = 2;
    return apr_psprintf(p, "%.*f", decimals, v);
}

void cxa_chart(cxa_t *c, const apr_array_header_t *days)
{
    int n = days->nelts;
    double max_spend = 0, max_req = 0;
    for (int i = 0; i < n; i++) {
        const cxa_chart_day_t *d = &APR_ARRAY_IDX(days, i, cxa_chart_day_t);
        double s = (double)d->spend_nano / (double)CX_NANO_PER_CREDIT;
        if (s > max_spend)
            max_spend = s;
        if ((double)d->requests > max_req)
            max_req = (double)d->requests;
    }
    /* Whole requests: the right axis never shows fractional ticks. */
    double spend_step = nice_step(max_spend), req_step = nice_step(max_req < 4 ? 4 : max_req);
    if (req_step < 1)
        req_step = 1;
    double spend_top = spend_step * TICKS, req_top = req_step * TICKS;
    double plot_w = W - PAD_L - PAD_R, plot_h = H - PAD_T - PAD_B;
    double slot = plot_w / (n ? n : 1), bar_w = slot * 0.68;

    cxa_set_int(c, "Chart.W", W);
    cxa_set_int(c, "Chart.H", H);
    cxa_set_int(c, "Chart.Left", PAD_L);
    cxa_set_int(c, "Chart.Right", W - PAD_R);
    cxa_set_int(c, "Chart.Top", PAD_T);
    cxa_set_int(c, "Chart.Bottom", H - PAD_B);
    cxa_set_int(c, "Chart.AxisL", PAD_L - 6);
    cxa_set_int(c, "Chart.AxisR", W - PAD_R + 6);
    cxa_set_int(c, "Chart.LabelY", H - PAD_B + 18);
    cxa_set_int(c, "Chart.Empty", max_spend == 0 && max_req == 0);

    for (int t = 0; t <= TICKS; t++) {
        double y = PAD_T + plot_h - plot_h * t / TICKS;
        const char *pfx = apr_psprintf(c->pool, "Chart.Ticks.%d.", t);
        cxa_setf(c, apr_pstrcat(c->pool, pfx, "y", NULL), "%.1f", y);
        cxa_setf(c, apr_pstrcat(c->pool, pfx, "ty", NULL), "%.1f", y + 4);
        cxa_set(c, apr_pstrcat(c->pool, pfx, "spend", NULL), tick_label(c->pool, spend_step * t, spend_step, 1));
        cxa_set(c, apr_pstrcat(c->pool, pfx, "requests", NULL), tick_label(c->pool, req_step * t, req_step, 0));
    }

    const char *points = "";
    int label_every = n <= 10 ? 1 : n <= 31 ? (n + 7) / 8 : (n + 9) / 10, nl = 0;
    for (int i = 0; i < n; i++) {
        const cxa_chart_day_t *d = &APR_ARRAY_IDX(days, i, cxa_chart_day_t);
        double spend = (double)d->spend_nano / (double)CX_NANO_PER_CREDIT;
        double h = spend_top > 0 ? plot_h * spend / spend_top : 0;
        if (spend > 0 && h < 1.5)
            h = 1.5;   /* a day with any spend stays visible */
        double x = PAD_L + slot * i + (slot - bar_w) / 2;
        double cx = PAD_L + slot * i + slot / 2;
        double cy = PAD_T + plot_h - (req_top > 0 ? plot_h * (double)d->requests / req_top : 0);
        const char *pfx = apr_psprintf(c->pool, "Chart.Bars.%d.", i);
        cxa_setf(c, apr_pstrcat(c->pool, pfx, "x", NULL), "%.1f", x);
        cxa_setf(c, apr_pstrcat(c->pool, pfx, "y", NULL), "%.1f", PAD_T + plot_h - h);
        cxa_setf(c, apr_pstrcat(c->pool, pfx, "w", NULL), "%.1f", bar_w);
        cxa_setf(c, apr_pstrcat(c->pool, pfx, "h", NULL), "%.1f", h);
        cxa_setf(c, apr_pstrcat(c->pool, pfx, "cx", NULL), "%.1f", cx);
        cxa_setf(c, apr_pstrcat(c->pool, pfx, "cy", NULL), "%.1f", cy);
        cxa_set(c, apr_pstrcat(c->pool, pfx, "day", NULL), d->day);
        cxa_set(c, apr_pstrcat(c->pool, pfx, "spend", NULL), cx_nano_format_short(c->pool, d->spend_nano));
        cxa_setf(c, apr_pstrcat(c->pool, pfx, "requests", NULL), "%" APR_UINT64_T_FMT, (apr_uint64_t)d->requests);
        points = apr_psprintf(c->pool, "%s%s%.1f,%.1f", points, *points ? " " : "", cx, cy);
        if (i % label_every == 0) {
            const char *lp = apr_psprintf(c->pool, "Chart.Labels.%d.", nl++);
            cxa_setf(c, apr_pstrcat(c->pool, lp, "x", NULL), "%.1f", cx);
            /* "11-21" is enough under a chart whose range is shown above it. */
            cxa_set(c, apr_pstrcat(c->pool, lp, "text", NULL), d->day + 5);
        }
    }
    cxa_set(c, "Chart.Points", points);
}
