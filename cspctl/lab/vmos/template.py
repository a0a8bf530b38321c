"""Contents of a system VM template: files on disk and the agent archive (systemvm.zip)."""

from __future__ import annotations

from .spec import VmSpec

RUN_SH = """#!/bin/bash
#run.sh runs the agent client.

# set -x
readonly PROGNAME=$(basename "$0")
readonly LOCKDIR=/tmp
readonly LOCKFD=500

CLOUDSTACK_HOME="/usr/local/cloud"
. $CLOUDSTACK_HOME/systemvm/utils.sh

LOCKFILE=$LOCKDIR/$PROGNAME.xlock
lock $LOCKFILE $LOCKFD
if [ $? -eq 1 ];then
  exit 1
fi

while true
do
  pid=$(get_pids)
  action=`cat /usr/local/cloud/systemvm/user_request`
  if [ "$pid" == "" ] && [ "$action" == "start" ] ; then
    ./_run.sh "$@" &
    wait
    ex=$?
    if [ $ex -eq 0 ] || [ $ex -eq 1 ] || [ $ex -eq 66 ] || [ $ex -gt 128 ]; then
        # permanent errors
        sleep 5
    fi
  fi

  # user stop agent by service cloud stop
  grep 'stop' /usr/local/cloud/systemvm/user_request &>/dev/null
  if [ $? -eq 0 ]; then
      timestamp=$(date)
      echo "$timestamp User stops cloud.com service" >> /var/log/cloud.log
      exit 0
  fi
  sleep 5
done
"""

UNDERSCORE_RUN_SH = """#!/usr/bin/env bash
#_run.sh runs the agent client.

# set -x

while true
do
  CP="./:./conf"
  for file in *.jar
  do
    CP=${CP}:$file
  done
  keyvalues=
  CMDLINE=$(cat /var/cache/cloud/cmdline)
  for i in $CMDLINE
    do
      KEY=$(echo $i | cut -d= -f1)
      VALUE=$(echo $i | cut -d= -f2)
      keyvalues="${keyvalues} $KEY=$VALUE"
    done
  tot_mem_k=$(cat /proc/meminfo | grep MemTotal | awk '{print $2}')
  let "tot_mem_m=tot_mem_k>>10"
  let "eightypcnt=$tot_mem_m*8/10"
  let "maxmem=$tot_mem_m-80"

  if [ $maxmem -gt $eightypcnt ]
  then
    maxmem=$eightypcnt
  fi

  java -Djavax.net.ssl.trustStore=./certs/realhostip.keystore -Djsse.enableSNIExtension=false \\
    -Dlog.home=$LOGHOME -mx${maxmem}m -cp $CP com.cloud.agent.AgentShell $keyvalues $@
  rc=$?
  if [ $rc -eq 0 ]
  then
    break
  fi
done
"""

UTILS_SH = """#!/bin/bash

get_pids() {
  local i
  for i in $(ps -ef| grep java | grep -v grep | awk '{print $2}');
  do
    echo $(pwdx $i) | grep "/usr/local/cloud"  | awk -F: '{print $1}';
  done
}
"""

AJAXVIEWER_JS = """/*
Licensed to the Apache Software Foundation (ASF) under one
or more contributor license agreements.
*/
var g_logger;
function AjaxViewer(panelId, imageUrl, updateUrl, tileMap, width, height, tileWidth, tileHeight) {
	this.panelId = panelId;
	this.imageUrl = imageUrl;
	this.updateUrl = updateUrl;
}
"""

CSS = """.taskbar { position: absolute; width: 100%; height: 30px; }
.canvas_tile { cursor: crosshair; }
"""


def agent_files(spec: VmSpec) -> dict[str, tuple[str, int | None, int]]:
    """systemvm.zip / agent.zip: relative path -> (content, fixed size or None, mode)."""
    v = spec.cloudstack_version
    files: dict[str, tuple[str, int | None, int]] = {
        "run.sh": (RUN_SH, None, 0o555),
        "_run.sh": (UNDERSCORE_RUN_SH, None, 0o555),
        "utils.sh": (UTILS_SH, None, 0o555),
        "ssvm-check.sh": ("#!/bin/bash\n# Health check script for the Secondary Storage VM\n",
                          None, 0o555),
        f"cloud-agent-{v}.jar": ("", 201_423, 0o644),
        f"cloud-core-{v}.jar": ("", 1_013_882, 0o644),
        f"cloud-utils-{v}.jar": ("", 566_214, 0o644),
        f"cloud-api-{v}.jar": ("", 2_311_079, 0o644),
        f"cloud-console-proxy-{v}.jar": ("", 120_871, 0o644),
        f"cloud-secondary-storage-{v}.jar": ("", 152_336, 0o644),
        "conf/agent.properties": (
            "#Storage\n#Tue May 12 05:31:10 UTC 2026\ninstance=SYSTEMVM\n"
            "resource=com.cloud.agent.resource.consoleproxy.ConsoleProxyResource\n"
            "port=8250\nworkers=5\n", None, 0o644),
        "conf/log4j-cloud.xml": ('<?xml version="1.0" encoding="UTF-8"?>\n'
                                 '<log4j:configuration debug="false"/>\n', None, 0o644),
        "conf/environment.properties": ("paths.script=../../scripts/storage/secondary\n",
                                        None, 0o644),
        "conf/consoleproxy.properties": ("consoleproxy.httpListenPort=80\n", None, 0o644),
        "certs/realhostip.keystore": ("", 3_798, 0o644),
        "certs/realhostip.crt": ("-----BEGIN CERTIFICATE-----\nMIIFZTCCBE2gAwIBAgIHKBCduBUoKDAN"
                                 "BgkqhkiG9w0BAQUFADCByjELMAkGA1UE\n-----END CERTIFICATE-----\n",
                                 None, 0o644),
        "certs/realhostip.key": ("-----BEGIN PRIVATE KEY-----\n(lab)\n-----END PRIVATE KEY-----\n",
                                 None, 0o600),
        "css/ajaxviewer.css": (CSS, None, 0o644),
        "css/logger.css": (".logwin { position: absolute; }\n", None, 0o644),
        "js/ajaxviewer.js": (AJAXVIEWER_JS, None, 0o644),
        "js/handler.js": ("function onKeyDown(e) { return true; }\n", None, 0o644),
        "js/jquery.js": ("/*! jQuery v1.3.2 */\n", 57_254, 0o644),
        "js/cloud.logger.js": ("function Logger() {}\n", None, 0o644),
        "images/cad.gif": ("GIF89a", 918, 0o644),
        "images/back.gif": ("GIF89a", 1_143, 0o644),
        "images/clr_button.gif": ("GIF89a", 1_271, 0o644),
        "images/help.png": ("\x89PNG", 1_088, 0o644),
        "images/winlog.png": ("\x89PNG", 2_913, 0o644),
    }
    if spec.era == "systemd":
        files.pop("run.sh")
        files["_run.sh"] = (UNDERSCORE_RUN_SH.replace("java -Dj", "exec java -Dj"), None, 0o555)
    return files


MIME = {".js": "text/javascript", ".css": "text/css", ".gif": "image/gif", ".png": "image/png",
        ".html": "text/html", ".jpg": "image/jpeg"}


def release_line(spec: VmSpec) -> str:
    """/etc/cloudstack-release as the template build writes it."""
    stamps = {"4.8": "Tue Jan 26 14:43:51 UTC 2016", "4.9": "Wed Jul 20 09:12:44 UTC 2016",
              "4.11": "Thu Jun 20 08:42:17 UTC 2019", "4.15": "Wed Jan 13 11:25:10 UTC 2021"}
    key = ".".join(spec.cloudstack_version.split(".")[:2])
    stamp = stamps.get(key, "Mon Jan  8 10:00:00 UTC 2024")
    return f"Cloudstack Release {spec.cloudstack_version} {stamp}\n"


def java_version(spec: VmSpec) -> str:
    if spec.era == "sysvinit":
        return ('java version "1.7.0_101"\nOpenJDK Runtime Environment (IcedTea 2.6.6) '
                "(7u101-2.6.6-2~deb7u1)\nOpenJDK 64-Bit Server VM (build 24.95-b01, mixed mode)\n")
    return ('openjdk version "11.0.6" 2020-01-14\nOpenJDK Runtime Environment (build '
            "11.0.6+10-post-Debian-1deb10u1)\nOpenJDK 64-Bit Server VM (build "
            "11.0.6+10-post-Debian-1deb10u1, mixed mode, sharing)\n")


def java_binary(spec: VmSpec) -> str:
    if spec.era == "sysvinit":
        return "/usr/lib/jvm/java-7-openjdk-amd64/jre/bin/java"
    return "/usr/lib/jvm/java-11-openjdk-amd64/bin/java"
