# Built with -f: the default target (final) needs base only, so the failing stage in between is
# dropped from the plan and never runs. The context also needs rootfs/.
FROM scratch AS base
COPY rootfs/ /
RUN echo base > /stage

FROM base AS broken
RUN echo "stage broken ran: $((3 + 4))" && exit 7

FROM base AS final
COPY --from=base /stage /copied-stage
RUN echo final >> /stage
CMD ["/bin/cat", "/stage", "/copied-stage"]
